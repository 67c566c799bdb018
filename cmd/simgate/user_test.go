package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/access"
	"github.com/simgate/simgate/store"
)

func TestUserAdd(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var out, errOut bytes.Buffer
	err := runUser(ctx, []string{"add", "--data", dir, "--name", "ana"}, strings.NewReader("short\n"), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "at least 10") {
		t.Fatalf("short password: %v", err)
	}
	if err := runUser(ctx, []string{"add", "--data", dir, "--name", "ana"}, strings.NewReader("correct horse battery\n"), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if err := runUser(ctx, []string{"add", "--data", dir}, strings.NewReader("correct horse battery\n"), &out, &errOut); err == nil {
		t.Error("user add without --name succeeded")
	}
	db, err := store.Open(filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	gw, err := gateway.New(db, gateway.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := gw.Access().Login(ctx, "ana", "correct horse battery"); err != nil {
		t.Errorf("login with the piped password: %v", err)
	}
	pw, err := createDemoAdmin(db)
	if err != nil || len(pw) < access.MinPasswordLen {
		t.Fatalf("createDemoAdmin = %q, %v", pw, err)
	}
	pw2, err := createDemoAdmin(db) // a reused demo dir
	if err != nil || pw2 == pw {
		t.Fatalf("second createDemoAdmin = %q, %v", pw2, err)
	}
	if _, _, err := gw.Access().Login(ctx, demoAdmin, pw); err == nil {
		t.Error("the previous demo password still works")
	}
	if _, _, err := gw.Access().Login(ctx, demoAdmin, pw2); err != nil {
		t.Errorf("demo password: %v", err)
	}
}
