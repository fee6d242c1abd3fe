package engine

// The two written copies of the transition table, docs/design.md's and
// state.go's comment, checked cell by cell against legal.

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// transitionTable is a written table: its rows and columns by state name,
// and the cells marked x.
type transitionTable struct {
	rows, cols []string
	marked     map[[2]string]bool
}

func TestDesignDocStateTable(t *testing.T) {
	src, err := os.ReadFile("../../docs/design.md")
	if err != nil {
		t.Fatal(err)
	}
	tab, err := parseMarkdownStateTable(string(src))
	if err != nil {
		t.Fatalf("docs/design.md: %v", err)
	}
	checkStateTable(t, "docs/design.md", tab)
}

func TestStateCommentTable(t *testing.T) {
	src, err := os.ReadFile("state.go")
	if err != nil {
		t.Fatal(err)
	}
	tab, err := parseCommentStateTable(string(src))
	if err != nil {
		t.Fatalf("state.go: %v", err)
	}
	checkStateTable(t, "state.go's comment", tab)
}

// parseMarkdownStateTable reads the first markdown table after the line
// that starts "Job states".
func parseMarkdownStateTable(doc string) (transitionTable, error) {
	lines := strings.Split(doc, "\n")
	i := 0
	for i < len(lines) && !strings.HasPrefix(lines[i], "Job states") {
		i++
	}
	if i == len(lines) {
		return transitionTable{}, fmt.Errorf(`no line starting "Job states"`)
	}
	for i < len(lines) && !strings.HasPrefix(lines[i], "|") {
		i++
	}
	if i+1 >= len(lines) {
		return transitionTable{}, fmt.Errorf(`no table after "Job states"`)
	}
	cells := func(line string) []string {
		line = strings.TrimSpace(line)
		line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
		cs := strings.Split(line, "|")
		for k := range cs {
			cs[k] = strings.TrimSpace(cs[k])
		}
		return cs
	}
	head := cells(lines[i])
	if len(head) < 2 || head[0] != `from \ to` {
		return transitionTable{}, fmt.Errorf("table header %q", lines[i])
	}
	tab := transitionTable{cols: head[1:], marked: map[[2]string]bool{}}
	for _, line := range lines[i+2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cs := cells(line)
		if len(cs) != len(head) {
			return tab, fmt.Errorf("row %q has %d cells, the header %d", line, len(cs), len(head))
		}
		from := cs[0]
		tab.rows = append(tab.rows, from)
		for k, c := range cs[1:] {
			switch c {
			case "x":
				tab.marked[[2]string{from, tab.cols[k]}] = true
			case "":
			default:
				return tab, fmt.Errorf("row %s, column %s: cell %q is neither x nor empty", from, tab.cols[k], c)
			}
		}
	}
	return tab, nil
}

// parseCommentStateTable reads the indented table in the doc comment of
// jobState: each x belongs to the column whose header name it stands under.
func parseCommentStateTable(src string) (transitionTable, error) {
	lines := strings.Split(src, "\n")
	i := 0
	for i < len(lines) && !(strings.HasPrefix(lines[i], "//\t") && strings.Contains(lines[i], `from \ to`)) {
		i++
	}
	if i == len(lines) {
		return transitionTable{}, fmt.Errorf(`no comment line with "from \ to"`)
	}
	head := strings.TrimPrefix(lines[i], "//\t")
	type span struct {
		name       string
		start, end int
	}
	var spans []span
	rest := strings.Index(head, `from \ to`) + len(`from \ to`)
	for k := rest; k < len(head); {
		if head[k] == ' ' {
			k++
			continue
		}
		e := k
		for e < len(head) && head[e] != ' ' {
			e++
		}
		spans = append(spans, span{head[k:e], k, e})
		k = e
	}
	tab := transitionTable{marked: map[[2]string]bool{}}
	for _, s := range spans {
		tab.cols = append(tab.cols, s.name)
	}
	for _, line := range lines[i+1:] {
		if !strings.HasPrefix(line, "//\t") {
			break
		}
		row := strings.TrimPrefix(line, "//\t")
		fields := strings.Fields(row)
		if len(fields) == 0 {
			break
		}
		from := fields[0]
		tab.rows = append(tab.rows, from)
		for k := len(from); k < len(row); k++ {
			switch row[k] {
			case ' ':
				continue
			case 'x':
			default:
				return tab, fmt.Errorf("row %s: %q at column %d is neither x nor space", from, row[k], k)
			}
			col := ""
			for _, s := range spans {
				if k >= s.start && k < s.end {
					col = s.name
				}
			}
			if col == "" {
				return tab, fmt.Errorf("row %s: the x at column %d stands under no header name", from, k)
			}
			tab.marked[[2]string{from, col}] = true
		}
	}
	return tab, nil
}

// checkStateTable fails naming each cell where tab and legal differ, and
// each state tab lacks or does not know.
func checkStateTable(t *testing.T, where string, tab transitionTable) {
	t.Helper()
	known := map[string]bool{}
	for _, n := range stateNames {
		known[n] = true
	}
	hasRow, hasCol := map[string]bool{}, map[string]bool{}
	for _, r := range tab.rows {
		if !known[r] {
			t.Errorf("%s: row %q is no state", where, r)
		}
		if hasRow[r] {
			t.Errorf("%s: row %s twice", where, r)
		}
		hasRow[r] = true
	}
	for _, c := range tab.cols {
		if !known[c] {
			t.Errorf("%s: column %q is no state", where, c)
		}
		if hasCol[c] {
			t.Errorf("%s: column %s twice", where, c)
		}
		hasCol[c] = true
	}
	for from := stQueued; from <= stDone; from++ {
		if !hasRow[from.String()] {
			t.Errorf("%s: no row for %s", where, from)
		}
		for to := stQueued; to <= stDone; to++ {
			cell := [2]string{from.String(), to.String()}
			switch ok, x := legalTransition(from, to), tab.marked[cell]; {
			case ok && !hasCol[to.String()]:
				t.Errorf("%s: no column for %s, but %s -> %s is legal", where, to, from, to)
			case ok && hasRow[from.String()] && !x:
				t.Errorf("%s: cell %s -> %s is empty, but legal allows it", where, from, to)
			case !ok && x:
				t.Errorf("%s: cell %s -> %s is marked x, but legal does not allow it", where, from, to)
			}
		}
	}
}
