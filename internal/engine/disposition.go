package engine

// The server's file name (--content-disposition), made safe to use.

import (
	"mime"
	"path"
	"strings"

	"github.com/multiget/multiget/internal/naming"
)

// contentDispositionName is the server's file name, reduced to one safe
// name: only its last element counts (a path in it is never followed), and
// that element is sanitised like a name from a URL. "" when there is none.
func contentDispositionName(v string) string {
	if v == "" {
		return ""
	}
	_, params, err := mime.ParseMediaType(v)
	if err != nil {
		return ""
	}
	name := params["filename"] // mime decodes filename*= into filename
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(strings.TrimRight(name, "/"))
	if name == "" || name == "." || name == ".." || name == "/" {
		return ""
	}
	name = naming.Sanitize(name)
	// A server must not name a file like multiget's own temporary files:
	// a planted NAME.part with a NAME.part.meta could feed a later -c.
	if strings.HasSuffix(name, PartSuffix) || strings.HasSuffix(name, PartSuffix+MetaSuffix) ||
		strings.HasSuffix(name, PartSuffix+MetaSuffix+metaTmpSuffix) {
		return ""
	}
	return name
}
