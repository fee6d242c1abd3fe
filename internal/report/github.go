package report

import (
	"strconv"
	"strings"

	"github.com/multiget/multiget/internal/engine"
)

// Annotation renders a failed or invalid result as a GitHub Actions
// workflow command, which the runner shows as an error on the job (and, for
// an entry of a list file, on that file's line when the list is part of
// the repository):
//
//	::error file=list.txt,line=3,title=multiget::list.txt:3 https://h/x: HTTP 404 Not Found
//
// Values are escaped as GitHub's workflow-command rules ask: %, CR and LF in
// the message, and also ":" and "," in properties. Other control characters
// are shown as escapes like on any other line.
func Annotation(res engine.Result) string {
	props := []string{}
	if file, line, ok := listLine(res.Source); ok {
		props = append(props, "file="+escapeProperty(file), "line="+strconv.Itoa(line))
	}
	props = append(props, "title=multiget")
	why := res.Error
	if why == "" {
		why = reason(res)
	}
	msg := res.Source + " " + RedactURL(res.URL) + ": " + why
	return "::error " + strings.Join(props, ",") + "::" + Sanitize(escapeData(msg))
}

// listLine splits a "FILE:LINE" source; stdin ("-:N") and arguments
// ("arg:N") name no file.
func listLine(source string) (string, int, bool) {
	i := strings.LastIndexByte(source, ':')
	if i <= 0 {
		return "", 0, false
	}
	file := source[:i]
	n, err := strconv.Atoi(source[i+1:])
	if err != nil || file == "-" || file == "arg" {
		return "", 0, false
	}
	return file, n, true
}

func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
