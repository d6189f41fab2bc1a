package fakerouter

import (
	"crypto/subtle"
	"net/http"
)

// checkAuth enforces HTTP Basic auth like internal/system/auth.go. The admin
// user has every method, so there is no 403 here. It writes the 401 and
// returns false when the request is not authorised.
func (r *Router) checkAuth(w http.ResponseWriter, req *http.Request) bool {
	user, pass, ok := req.BasicAuth()
	msg := ""
	switch {
	case !ok:
		msg = errNoBasicAuth
	case user == "" || pass == "":
		msg = errInvalidBasicAuth
	case subtle.ConstantTimeCompare([]byte(user), []byte(r.cfg.Username)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(r.cfg.Password)) != 1:
		msg = errBadCredentials
	default:
		return true
	}
	r.count(func(c *Counters) { c.Unauthorized++ })
	r.writeError(w, http.StatusUnauthorized, msg)
	return false
}
