package contacts

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/simgate/simgate/store"
)

// API is what the web layer and the subcommands may do with the address
// book: the contacts and their CSV import and export. It speaks only this
// package's types, converted from the store's records here; the Book
// beside it is what the other parts are wired with.
type API struct{ b *Book }

// NewAPI returns the API over b.
func NewAPI(b *Book) *API { return &API{b: b} }

// Contact is one person in the address book. Attributes and Tags are
// never nil in what the API returns.
type Contact struct {
	ID              uint64            `json:"id"`
	Number          string            `json:"number"`
	Name            string            `json:"name"`
	Attributes      map[string]string `json:"attributes"`
	Tags            []string          `json:"tags"`
	TimeZone        string            `json:"time_zone"`
	TimeZoneDerived bool              `json:"time_zone_derived"` // guessed from the number
	Language        string            `json:"language"`
	Source          string            `json:"source"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
}

// Filter selects a page of contacts, oldest first.
type Filter struct {
	Query string // case-insensitive substring of number or name; "" = any
	Tag   string // "" = any
	After uint64 // cursor: only IDs > After
	Limit int
}

// ContactOf is the view of a stored contact (the GDPR export shows it
// too); Attributes and Tags are never nil.
func ContactOf(c store.Contact) Contact {
	v := Contact{ID: c.ID, Number: c.Number, Name: c.Name, Attributes: c.Attributes, Tags: c.Tags,
		TimeZone: c.TimeZone, TimeZoneDerived: c.TimeZoneDerived, Language: c.Language, Source: c.Source,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
	if v.Attributes == nil {
		v.Attributes = map[string]string{}
	}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	return v
}

func contactResult(c store.Contact, err error) (Contact, error) {
	if err != nil {
		return Contact{}, err
	}
	return ContactOf(c), nil
}

// Create validates c and stores it as a new contact; it never records
// consent. store.ErrExists when the number already has a contact;
// store.ErrSuppressed when the number was erased on request.
func (a *API) Create(ctx context.Context, c Contact) (Contact, error) {
	return contactResult(a.b.Create(ctx, store.Contact{Number: c.Number, Name: c.Name, Attributes: c.Attributes, Tags: c.Tags,
		TimeZone: c.TimeZone, Language: c.Language, Source: c.Source}))
}

// Update applies p to contact id after validating the result.
func (a *API) Update(ctx context.Context, id uint64, p Patch) (Contact, error) {
	return contactResult(a.b.Update(ctx, id, p))
}

// Delete removes the contact only: its consent ledger and messages stay
// (R-RECORD). Erasing a person is the consent ledger's.
func (a *API) Delete(ctx context.Context, id uint64) error { return a.b.Delete(ctx, id) }

// Get returns one contact.
func (a *API) Get(id uint64) (Contact, error) { return contactResult(a.b.Get(id)) }

// List lists contacts oldest first with the next cursor (0 at the end).
func (a *API) List(f Filter) ([]Contact, uint64, error) {
	cs, next, err := a.b.List(store.ContactFilter(f))
	if err != nil {
		return nil, 0, err
	}
	out := make([]Contact, len(cs))
	for i, c := range cs {
		out[i] = ContactOf(c)
	}
	return out, next, nil
}

// Count reports how many contacts there are.
func (a *API) Count() (int, error) { return a.b.Count() }

// ByNumber finds the contact of a number written in any format the box's
// region reads.
func (a *API) ByNumber(raw string) (Contact, error) { return contactResult(a.b.ByNumber(raw)) }

// Export writes every contact as CSV, oldest first, with its marketing
// consent state.
func (a *API) Export(ctx context.Context, w io.Writer) error { return a.b.Export(ctx, w) }

// ImportSpool creates a temporary file in the data directory for an
// upload to be streamed into before it is imported.
func (a *API) ImportSpool() (*os.File, error) { return a.b.ImportSpool() }

// Import starts importing a CSV file of contacts and returns the job at
// once; a file whose header cannot be used is a *store.FieldError. It
// owns r and closes it (when it is an io.Closer) when the job ends.
func (a *API) Import(ctx context.Context, r io.Reader, opts ImportOptions) (*ImportJob, error) {
	return a.b.Import(ctx, r, opts)
}

// PreviewImport reads a CSV file's header and first rows and says how
// each column would be used with the mapping columns, writing nothing.
func (a *API) PreviewImport(r io.Reader, columns map[string]string, rows int) (ImportPreview, error) {
	return PreviewImport(r, columns, rows)
}

// Job returns an import job with its rejected rows; store.ErrNotFound
// when it is unknown or no longer among the last few. Jobs are kept in
// the store: a job's report outlives a restart.
func (a *API) Job(id string) (ImportJob, error) { return a.b.Job(id) }

// Jobs lists the recent jobs, newest first, without their rejected rows.
func (a *API) Jobs() []ImportJob { return a.b.Jobs() }

// Cancel stops a running import; the rows it wrote stay. It waits until
// the job recorded its end or ctx is done and returns the job then (still
// running if ctx ended first). store.ErrNotFound for an unknown job,
// store.ErrConflict for one that has ended. actor is logged.
func (a *API) Cancel(ctx context.Context, id, actor string) (ImportJob, error) {
	return a.b.Cancel(ctx, id, actor)
}

// Wait blocks until the job ends or ctx is done, then returns it.
func (a *API) Wait(ctx context.Context, id string) (ImportJob, error) { return a.b.Wait(ctx, id) }

// WriteRejectedCSV writes a job's rejected rows as CSV, so the file can
// be fixed and imported again with the same mapping.
func (a *API) WriteRejectedCSV(w io.Writer, id string) error { return a.b.WriteRejectedCSV(w, id) }
