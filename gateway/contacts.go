package gateway

import (
	"context"
	"io"
	"os"

	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/view"
	"github.com/simgate/simgate/store"
)

// Contacts and their CSV import and export (package contacts).
type (
	ContactPatch    = contacts.Patch
	ImportOptions   = contacts.ImportOptions
	ImportRejection = contacts.ImportRejection
	ImportReport    = contacts.ImportReport
	ImportJob       = contacts.ImportJob
	ImportPreview   = contacts.ImportPreview
)

// Contact limits.
const (
	MaxContactName    = contacts.MaxContactName
	MaxAttributes     = contacts.MaxAttributes
	MaxAttributeKey   = contacts.MaxAttributeKey
	MaxAttributeValue = contacts.MaxAttributeValue
	MaxTags           = contacts.MaxTags
	MaxTagLength      = contacts.MaxTagLength
)

// ImportSpoolPattern names upload spool files in the data directory.
const ImportSpoolPattern = contacts.ImportSpoolPattern

// Import job states.
const (
	ImportRunning     = contacts.ImportRunning
	ImportDone        = contacts.ImportDone
	ImportFailed      = contacts.ImportFailed
	ImportCancelled   = contacts.ImportCancelled   // stopped by CancelImport
	ImportInterrupted = contacts.ImportInterrupted // the gateway stopped (or crashed) while it ran
)

// CreateContact validates c and stores it as a new contact; it never
// records consent. ErrExists when the number already has a contact;
// ErrSuppressed when the number was erased on request.
func (g *Gateway) CreateContact(ctx context.Context, c Contact) (Contact, error) {
	return asView(view.FromContact)(g.contacts.Create(ctx, view.ContactRecord(c)))
}

// UpdateContact applies p to contact id after validating the result.
func (g *Gateway) UpdateContact(ctx context.Context, id uint64, p ContactPatch) (Contact, error) {
	return asView(view.FromContact)(g.contacts.Update(ctx, id, p))
}

// DeleteContact removes the contact only: its consent ledger and messages
// stay (R-RECORD). Erasing a person is EraseContact.
func (g *Gateway) DeleteContact(ctx context.Context, id uint64) error {
	return g.contacts.Delete(ctx, id)
}

// Contact returns one contact.
func (g *Gateway) Contact(id uint64) (Contact, error) {
	return asView(view.FromContact)(g.contacts.Get(id))
}

// Contacts lists contacts oldest first with the next cursor (0 at the end).
func (g *Gateway) Contacts(f ContactFilter) ([]Contact, uint64, error) {
	return asViewPage(view.FromContact)(g.contacts.List(store.ContactFilter(f)))
}

// CountContacts reports how many contacts there are.
func (g *Gateway) CountContacts() (int, error) { return g.contacts.Count() }

// ContactByNumber finds the contact of a number written in any format the
// box's region reads.
func (g *Gateway) ContactByNumber(raw string) (Contact, error) {
	return asView(view.FromContact)(g.contacts.ByNumber(raw))
}

// ContactMessages lists the texts sent to a number, newest first, with
// the cursor of the next page (0 at the end).
func (g *Gateway) ContactMessages(number string, before uint64, limit int) ([]Message, uint64, error) {
	return asViewPage(view.FromMessage)(g.contacts.Messages(number, before, limit))
}

// ContactInbound lists the texts received from a number, newest first.
func (g *Gateway) ContactInbound(number string, before uint64, limit int) ([]Inbound, uint64, error) {
	return asViewPage(view.FromInbound)(g.contacts.Inbound(number, before, limit))
}

// ExportContacts writes every contact as CSV, oldest first, with its
// marketing consent state.
func (g *Gateway) ExportContacts(ctx context.Context, w io.Writer) error {
	return g.contacts.Export(ctx, w)
}

// ImportSpool creates a temporary file in the data directory for an upload
// to be streamed into before it is imported.
func (g *Gateway) ImportSpool() (*os.File, error) { return g.contacts.ImportSpool() }

// ImportContacts starts importing a CSV file of contacts and returns the
// job at once; a file whose header cannot be used is a *FieldError. It
// owns r and closes it (when it is an io.Closer) when the job ends.
func (g *Gateway) ImportContacts(ctx context.Context, r io.Reader, opts ImportOptions) (*ImportJob, error) {
	return g.contacts.Import(ctx, r, opts)
}

// PreviewImport reads a CSV file's header and first rows and says how
// each column would be used with the mapping columns, writing nothing.
func (g *Gateway) PreviewImport(r io.Reader, columns map[string]string, rows int) (ImportPreview, error) {
	return contacts.PreviewImport(r, columns, rows)
}

// ImportJob returns an import job with its rejected rows; ErrNotFound when
// it is unknown or no longer among the last few. Jobs are kept in the
// store: a job's report outlives a restart.
func (g *Gateway) ImportJob(id string) (ImportJob, error) { return g.contacts.Job(id) }

// ImportJobs lists the recent jobs, newest first, without their rejected
// rows.
func (g *Gateway) ImportJobs() []ImportJob { return g.contacts.Jobs() }

// CancelImport stops a running import; the rows it wrote stay. It waits
// until the job recorded its end or ctx is done and returns the job then
// (still running if ctx ended first). ErrNotFound for an unknown job,
// ErrConflict for one that has ended. actor is logged.
func (g *Gateway) CancelImport(ctx context.Context, id, actor string) (ImportJob, error) {
	return g.contacts.Cancel(ctx, id, actor)
}

// WaitImport blocks until the job ends or ctx is done, then returns it.
func (g *Gateway) WaitImport(ctx context.Context, id string) (ImportJob, error) {
	return g.contacts.Wait(ctx, id)
}

// WriteRejectedCSV writes a job's rejected rows as CSV, so the file can be
// fixed and imported again with the same mapping.
func (g *Gateway) WriteRejectedCSV(w io.Writer, id string) error {
	return g.contacts.WriteRejectedCSV(w, id)
}
