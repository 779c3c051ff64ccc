package demo

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Note is a record of the sample API.
type Note struct {
	ID        int    `json:"id"`
	Title     string `json:"title"`
	Body      string `json:"body"`
	Thumbnail string `json:"thumbnail"`
}

var notes = []Note{
	{1, "One domain", "The app, its APIs and its buckets all answer on one host name: no CORS, one certificate.", "/thumbnails/note-1.svg"},
	{2, "Ordered behaviors", "Path patterns are tried in order; the first match picks the origin, the default behavior takes the rest.", "/thumbnails/note-2.svg"},
	{3, "Scoped error pages", "A browser's 404 becomes the app's index.html, while the API's own 404 JSON reaches scripts untouched.", "/thumbnails/note-3.svg"},
}

// API is the sample JSON API behind /api*, and a small STAC-like catalogue
// at its root that the demo serves under /stac/ with strip_prefix.
func API() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"notes": "/api/notes"})
	})
	mux.HandleFunc("GET /api/notes", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, notes)
	})
	mux.HandleFunc("GET /api/notes/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil || id < 1 || id > len(notes) {
			writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Record not found"})
			return
		}
		writeJSON(w, http.StatusOK, notes[id-1])
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"type": "Catalog", "id": "demo", "stac_version": "1.0.0",
			"description": "Served at /stac/ through strip_prefix; this server knows nothing of /stac.",
			"links":       []map[string]string{{"rel": "data", "href": "/collections"}}})
	})
	mux.HandleFunc("GET /collections", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"collections": []map[string]string{{"id": "notes", "title": "Demo notes"}}})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
