package webui

import (
	"net/url"
	"strconv"
)

// Page sizes for list endpoints.
const (
	// defaultLimit fills a console table without scrolling for long.
	defaultLimit = 50
	// maxLimit bounds one answer (~500 KB with histories) so a single call
	// cannot hold a read transaction or the heap for long on a small box.
	maxLimit = 500
)

// page is a parsed limit and cursor. The cursor is the id to continue
// below (lists are newest first); 0 means from the newest.
type page struct {
	limit  int
	cursor uint64
}

// parsePage reads ?limit= and ?cursor=, naming the bad one in its error.
func parsePage(q url.Values) (page, error) {
	p := page{limit: defaultLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return page{}, invalid("limit", "must be a whole number from 1 to %d", maxLimit)
		}
		p.limit = n
	}
	if v := q.Get("cursor"); v != "" {
		c, err := strconv.ParseUint(v, 10, 64)
		if err != nil || c == 0 {
			return page{}, invalid("cursor", "must be a next_cursor value from a previous page")
		}
		p.cursor = c
	}
	return p, nil
}

// cursorString renders a next cursor; null (nil) when there is no next page.
// A string, not a number, so clients treat it as opaque.
func cursorString(next uint64) *string {
	if next == 0 {
		return nil
	}
	s := strconv.FormatUint(next, 10)
	return &s
}
