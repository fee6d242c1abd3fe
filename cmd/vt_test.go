package cmd_test

// A small model of a terminal screen, enough to say what a person sees once
// multiget's output has been drawn: printable text, CR, LF, erase in line
// (ESC[K), erase below (ESC[J), cursor up (ESC[nA); colours are dropped.

import (
	"strconv"
	"strings"
)

type screen struct {
	cols     int
	lines    [][]rune
	cont     []bool // the line continues the one above (a wrap, not a newline)
	row, col int
	wrapped  bool // a line ran past the last column
}

func newScreen(cols int) *screen {
	return &screen{cols: cols, lines: [][]rune{nil}, cont: []bool{false}}
}

// render feeds s through a fresh screen of cols columns.
func render(s string, cols int) *screen {
	sc := newScreen(cols)
	sc.write(s)
	return sc
}

func (sc *screen) write(s string) {
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; {
		case c == '\r':
			sc.col = 0
		case c == '\n':
			sc.down()
			sc.cont[sc.row] = false
		case c == '\x1b' && i+1 < len(rs) && rs[i+1] == '[':
			j := i + 2
			for j < len(rs) && (rs[j] >= '0' && rs[j] <= '9' || rs[j] == ';' || rs[j] == '?') {
				j++
			}
			if j < len(rs) {
				sc.csi(string(rs[i+2:j]), rs[j])
			}
			i = j
		case c < ' ':
		default:
			if sc.col >= sc.cols {
				sc.wrapped = true
				sc.down()
				sc.cont[sc.row] = true
			}
			ln := sc.lines[sc.row]
			for len(ln) <= sc.col {
				ln = append(ln, ' ')
			}
			ln[sc.col] = c
			sc.lines[sc.row] = ln
			sc.col++
		}
	}
}

func (sc *screen) down() {
	sc.row++
	sc.col = 0
	if sc.row == len(sc.lines) {
		sc.lines = append(sc.lines, nil)
		sc.cont = append(sc.cont, false)
	}
}

func (sc *screen) csi(arg string, op rune) {
	n, err := strconv.Atoi(arg)
	if err != nil || n == 0 {
		n = 1
	}
	switch op {
	case 'K':
		if ln := sc.lines[sc.row]; len(ln) > sc.col {
			sc.lines[sc.row] = ln[:sc.col]
		}
	case 'J':
		if ln := sc.lines[sc.row]; len(ln) > sc.col {
			sc.lines[sc.row] = ln[:sc.col]
		}
		sc.lines, sc.cont = sc.lines[:sc.row+1], sc.cont[:sc.row+1]
	case 'A':
		sc.row = max(sc.row-n, 0)
	case 'G':
		sc.col = min(n-1, sc.cols)
	}
}

// text is the screen's lines, a wrapped line joined again, with trailing
// spaces and empty last lines removed.
func (sc *screen) text() []string {
	var out []string
	for i, ln := range sc.lines {
		if sc.cont[i] && len(out) > 0 {
			out[len(out)-1] += string(ln)
			continue
		}
		out = append(out, string(ln))
	}
	for i := range out {
		out[i] = strings.TrimRight(out[i], " ")
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}
