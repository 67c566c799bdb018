package contacts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/store"
)

// importAll runs an import of body to its end.
func importAll(t testing.TB, b *Book, body string) ImportJob {
	t.Helper()
	job, err := b.Import(context.Background(), strings.NewReader(body), ImportOptions{})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done, err := b.Wait(ctx, job.ID)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if done.State != ImportDone {
		t.Fatalf("job %s: %s", done.State, done.Error)
	}
	return done
}

func TestImportJobsKeepsTheLastTen(t *testing.T) {
	b, _ := newBook(t)
	var first string
	for i := range keptImportJobs + 2 {
		j := importAll(t, b, fmt.Sprintf("phone\n+1201555%04d\n", i))
		if i == 0 {
			first = j.ID
		}
	}
	if n := len(b.Jobs()); n != keptImportJobs {
		t.Errorf("%d jobs kept, want %d", n, keptImportJobs)
	}
	if _, err := b.Job(first); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("oldest job still there: %v", err)
	}
}
