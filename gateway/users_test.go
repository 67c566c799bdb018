package gateway

import (
	"errors"
	"testing"
)

// Bad input the store catches is the same FieldError as the gateway's, so
// the HTTP layer answers 400 for both.
func TestStoreFieldErrorIsGateways(t *testing.T) {
	g := newContactsGateway(t)
	var fe *FieldError
	if _, _, err := g.Access().CreateToken(""); !errors.As(err, &fe) || fe.Field != "name" {
		t.Errorf("CreateToken(\"\") = %v, want a FieldError on name", err)
	}
	if err := g.Access().AddUser("ana", "long enough password"); err != nil {
		t.Fatal(err)
	}
	if err := g.Access().AddUser("ana", "long enough password"); !errors.As(err, &fe) || fe.Field != "name" {
		t.Errorf("second AddUser(ana) = %v, want a FieldError on name", err)
	}
}
