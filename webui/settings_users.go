package webui

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/access"
)

// changePassword answers POST /settings/password: the logged-in user
// changes their own password, proving the current one first (a console
// left open must not let a passer-by lock its owner out). Changing it ends
// every session of the user, this one included, so a new one is started.
func (s *server) changePassword(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	current, next := r.PostFormValue("current"), r.PostFormValue("new")
	addr := clientIP(r)
	if ref := s.logins.refusal(addr, u.Name); ref != nil {
		return s.renderSettings(w, r, http.StatusTooManyRequests, settingsData{PasswordError: ref.message()}, "", "")
	}
	id, _, err := s.gw.Access().Login(r.Context(), u.Name, current)
	if errors.Is(err, access.ErrBadLogin) {
		s.logins.failed(addr, u.Name)
		return s.renderSettings(w, r, http.StatusBadRequest, settingsData{PasswordError: "Your current password is not right. Nothing was changed."}, "", "")
	}
	if err != nil {
		return err
	}
	_ = s.gw.Access().Logout(id) // it only proved the password
	if err := s.gw.Access().SetPassword(u.Name, next); err != nil {
		if formError(err) != "" {
			return s.renderSettings(w, r, http.StatusBadRequest, settingsData{PasswordError: "The new password " + fieldMessage(err) + "."}, "", "")
		}
		return err
	}
	id, sess, err := s.gw.Access().Login(r.Context(), u.Name, next)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	seeOther(w, r, "/settings?done=password#password-h")
	return nil
}

// removeUser answers POST /settings/users/{name}/remove. Nobody removes
// themselves here: that would lock the box if they were the last one.
func (s *server) removeUser(w http.ResponseWriter, r *http.Request, u user) error {
	name := r.PathValue("name")
	if name == u.Name {
		return s.renderSettings(w, r, http.StatusBadRequest, settingsData{}, "You cannot remove yourself. Another user can.", "")
	}
	if err := s.gw.Access().DeleteUser(name); err != nil {
		return err
	}
	seeOther(w, r, "/settings?done=removed&user="+url.QueryEscape(name)+"#users-h")
	return nil
}

// fieldMessage is a FieldError's message alone ("must be at least 10
// characters"), or the error's text.
func fieldMessage(err error) string {
	var fe *gateway.FieldError
	if errors.As(err, &fe) {
		return fe.Message
	}
	return err.Error()
}
