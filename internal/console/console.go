// Package console holds the staff web console: its Vue 3 sources (src/),
// the Vite build committed in dist/, and this embedding of dist/ into the
// Go binary, so that the server serves the console without Node.
package console

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Assets is the built console: index.html and the hashed assets/.
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path: cannot happen
	}
	return sub
}
