package webui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Settings: change your own password (proving the current one) and
// remove another user (issue 13 point 18).
func TestSettingsChangePassword(t *testing.T) {
	c := newConsoleRig(t)
	const newPassword = "a much longer secret"

	w := c.post("/settings/password", url.Values{"current": {"not it at all"}, "new": {newPassword}})
	wantBody(t, w, http.StatusBadRequest, "current password is not right", `id="password-error"`)
	w = c.post("/settings/password", url.Values{"current": {testPassword}, "new": {"short"}})
	wantBody(t, w, http.StatusBadRequest, "The new password")
	if _, _, err := c.gw.Access().Login(context.Background(), testUser, testPassword); err != nil {
		t.Fatalf("a refused change changed the password: %v", err)
	}

	w = c.post("/settings/password", url.Values{"current": {testPassword}, "new": {newPassword}})
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/settings?done=password") {
		t.Fatalf("change: %d %s %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	if _, _, err := c.gw.Access().Login(context.Background(), testUser, testPassword); err == nil {
		t.Error("the old password still works")
	}
	if _, _, err := c.gw.Access().Login(context.Background(), testUser, newPassword); err != nil {
		t.Errorf("the new password does not work: %v", err)
	}
	// The old session ended with the change; the answer carries a new one.
	old := c.cookie
	c.cookie = sessionCookie(t, w)
	wantBody(t, c.get("/settings?done=password"), http.StatusOK, "Your password is changed")
	c.cookie = old
	if w := c.get("/settings"); w.Code != http.StatusSeeOther {
		t.Errorf("the session from before the change still works: %d", w.Code)
	}
}

func TestSettingsRemoveUser(t *testing.T) {
	c := newConsoleRig(t)
	if err := c.gw.Access().AddUser("bob", "bobs long password"); err != nil {
		t.Fatal(err)
	}
	wantBody(t, c.get("/settings"), http.StatusOK, `action="/settings/users/bob/remove"`, "Remove bob")
	if strings.Contains(c.get("/settings").Body.String(), `action="/settings/users/`+testUser+`/remove"`) {
		t.Error("the page offers to remove the logged-in user")
	}
	wantBody(t, c.post("/settings/users/"+testUser+"/remove", nil), http.StatusBadRequest, "cannot remove yourself")
	w := c.post("/settings/users/bob/remove", nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("remove: %d %s", w.Code, w.Body)
	}
	users, err := c.gw.Access().Users()
	if err != nil || len(users) != 1 || users[0].Name != testUser {
		t.Fatalf("users after removing bob: %+v, %v", users, err)
	}
}
