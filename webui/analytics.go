package webui

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/attribution"
)

// analyticsRoutes declares what texts earned: the results API, the clicks
// by hour, the attribution settings and prices per part, the Analytics
// page and the results region other pages (flows, campaigns) embed.
func (s *server) analyticsRoutes() {
	m := s.mux
	m.Handle("GET /api/v1/results", s.api(s.resultsAPI))
	m.Handle("GET /api/v1/analytics/clicks", s.api(s.clicksAPI))
	m.Handle("GET /api/v1/settings/attribution", s.api(s.attributionSettingsAPI))
	m.Handle("PUT /api/v1/settings/attribution", s.api(s.saveAttributionSettingsAPI))
	m.Handle("GET /api/v1/part-prices", s.api(s.partPricesAPI))
	m.Handle("PUT /api/v1/part-prices/{modem}", s.api(s.setPartPriceAPI))

	m.Handle("GET /analytics", s.console(s.analyticsPage))
	m.Handle("GET /analytics/results", s.console(s.resultsRegion))
	m.Handle("POST /analytics/settings", s.form(s.saveAttributionForm))
	m.Handle("POST /analytics/prices", s.form(s.savePriceForm))
}

// resultsAPI answers GET /api/v1/results?key=campaign:5: the key's
// results, and those of its variants or steps.
func (s *server) resultsAPI(w http.ResponseWriter, r *http.Request) error {
	key := r.URL.Query().Get("key")
	res, err := s.gw.Attribution().Results(key)
	if err != nil {
		return err
	}
	parts, err := s.gw.Attribution().Breakdown(key)
	if err != nil {
		return err
	}
	if parts == nil {
		parts = []attribution.Results{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"results": res, "breakdown": parts})
}

// clicksAPI answers GET /api/v1/analytics/clicks?scope=all: clicks by
// weekday and hour of each clicker's own day.
func (s *server) clicksAPI(w http.ResponseWriter, r *http.Request) error {
	scope := r.URL.Query().Get("scope")
	if scope == "" {
		scope = "all"
	}
	h, err := s.gw.Attribution().ClickHeat(scope)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h)
}

// attributionSettingsAPI answers GET /api/v1/settings/attribution.
func (s *server) attributionSettingsAPI(w http.ResponseWriter, r *http.Request) error {
	st, err := s.gw.Attribution().Settings()
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

// saveAttributionSettingsAPI answers PUT /api/v1/settings/attribution.
func (s *server) saveAttributionSettingsAPI(w http.ResponseWriter, r *http.Request) error {
	var in attribution.Settings
	if err := s.decodeJSON(w, r, &in); err != nil {
		return err
	}
	st, err := s.gw.Attribution().SetSettings(in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

// partPricesAPI answers GET /api/v1/part-prices.
func (s *server) partPricesAPI(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.gw.Attribution().PartPrices()
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []attribution.PartPriceSetting{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"part_prices": ps})
}

// setPartPriceAPI answers PUT /api/v1/part-prices/{modem} {"price": 4,
// "currency": "USD"}; a price of 0 clears it.
func (s *server) setPartPriceAPI(w http.ResponseWriter, r *http.Request) error {
	var in attribution.PartPriceSetting
	if err := s.decodeJSON(w, r, &in); err != nil {
		return err
	}
	in.Modem = r.PathValue("modem")
	if err := s.gw.Attribution().SetPartPrice(in); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, in)
}

// Console.

// resultsView is the results region of one key: what the flows and
// campaign pages embed and /analytics/results renders alone.
type resultsView struct {
	Key       string
	Results   attribution.Results
	Breakdown []attribution.Results
	Timeline  []attribution.Hour
	// LiftLine says in words what the holdout showed; empty without one.
	LiftLine string
}

// timelineHours is how far back a results region's timeline reaches.
const timelineHours = 14 * 24

func (s *server) resultsViewOf(key string) (*resultsView, error) {
	a := s.gw.Attribution()
	res, err := a.Results(key)
	if err != nil {
		return nil, err
	}
	v := &resultsView{Key: key, Results: res, LiftLine: liftLine(res.Lift)}
	if v.Breakdown, err = a.Breakdown(key); err != nil {
		return nil, err
	}
	if v.Timeline, err = a.Timeline(key, time.Now().Add(-timelineHours*time.Hour), timelineHours+1); err != nil {
		return nil, err
	}
	return v, nil
}

// points writes a difference of rates in percentage points.
func points(f float64) string { return strconv.FormatFloat(math.Round(f*1000)/10, 'f', 1, 64) }

// liftLine is the holdout's lesson in a shop owner's words.
func liftLine(l *attribution.Lift) string {
	if l == nil {
		return ""
	}
	rates := fmt.Sprintf("%s %% of those texted ordered, %s %% of the holdout who got nothing", points(l.TreatedRate), points(l.HoldoutRate))
	switch {
	case l.Significant && l.Difference > 0:
		return fmt.Sprintf("Texting this group earned %s %% more orders than not texting (95 %% sure: between %s and %s %%). %s.",
			points(l.Difference), points(l.Low), points(l.High), rates)
	case l.Significant:
		return fmt.Sprintf("Texting this group earned %s %% fewer orders than not texting (95 %% sure: between %s and %s %%). %s.",
			points(-l.Difference), points(-l.High), points(-l.Low), rates)
	}
	return fmt.Sprintf("We cannot tell yet whether texting made a difference: %s, and the gap could be chance (95 %% range: %s to %s %%).",
		rates, points(l.Low), points(l.High))
}

// resultsRegion answers GET /analytics/results?key=flow:3 with the results
// region alone, for a page that refreshes it in place.
func (s *server) resultsRegion(w http.ResponseWriter, r *http.Request, u user) error {
	v, err := s.resultsViewOf(r.URL.Query().Get("key"))
	if err != nil {
		return err
	}
	var buf strings.Builder
	if err := s.pages["analytics"].ExecuteTemplate(&buf, "results", v); err != nil {
		return fmt.Errorf("webui: render results: %w", err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, err = w.Write([]byte(buf.String()))
	return err
}

// heatCell is one hour of the week on the heat map.
type heatCell struct {
	Clicks int64
	Level  int // 0 (none) to 5 (the busiest hour), for the cell's shade
}

type heatRow struct {
	Day   string
	Cells []heatCell
}

type priceRow struct {
	Modem    string
	Price    string // as the form shows it: "0.04"
	Currency string
}

type analyticsData struct {
	Heat       []heatRow
	Hours      []int
	Total      int64
	Busiest    string
	Table      []attribution.Results
	All        attribution.Results
	Settings   attribution.Settings
	Prices     []priceRow
	BestHour   string
	Currencies []string
}

var weekdays = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

// analyticsPage answers GET /analytics.
func (s *server) analyticsPage(w http.ResponseWriter, r *http.Request, u user) error {
	notice := map[string]string{"settings": "Saved: orders from now on are attributed with the new windows.",
		"prices": "Saved: parts sent from now on cost the new price."}[r.URL.Query().Get("done")]
	return s.renderAnalytics(w, r, http.StatusOK, "", notice)
}

func (s *server) renderAnalytics(w http.ResponseWriter, r *http.Request, status int, errMsg, notice string) error {
	a := s.gw.Attribution()
	heat, err := a.ClickHeat("all")
	if err != nil {
		return err
	}
	d := analyticsData{Total: heat.Total}
	for h := range 24 {
		d.Hours = append(d.Hours, h)
	}
	var most int64
	for _, day := range heat.Cells {
		for _, n := range day {
			most = max(most, n)
		}
	}
	for day, hours := range heat.Cells {
		row := heatRow{Day: weekdays[day]}
		for _, n := range hours {
			c := heatCell{Clicks: n}
			if n > 0 && most > 0 {
				c.Level = 1 + int(4*n/most)
				c.Level = min(c.Level, 5)
			}
			row.Cells = append(row.Cells, c)
		}
		d.Heat = append(d.Heat, row)
	}
	if heat.Total > 0 {
		d.Busiest = fmt.Sprintf("%ss, and around %02d:00", weekdays[heat.BusiestDay], heat.BusiestHour)
		d.BestHour = fmt.Sprintf("%02d:00", heat.BusiestHour)
	}
	if d.Table, err = a.Table(); err != nil {
		return err
	}
	if d.All, err = a.Results("all"); err != nil {
		return err
	}
	if d.Settings, err = a.Settings(); err != nil {
		return err
	}
	prices, err := a.PartPrices()
	if err != nil {
		return err
	}
	priced := map[string]attribution.PartPriceSetting{}
	for _, p := range prices {
		priced[p.Modem] = p
	}
	seen := map[string]bool{}
	for _, m := range s.gw.Modems() {
		seen[m.Name] = true
		p := priced[m.Name]
		d.Prices = append(d.Prices, priceRow{Modem: m.Name, Price: formatPrice(p.Price), Currency: orDefault(p.Currency, "USD")})
	}
	for _, p := range prices { // SIMs priced before and not plugged in now
		if !seen[p.Modem] {
			d.Prices = append(d.Prices, priceRow{Modem: p.Modem, Price: formatPrice(p.Price), Currency: p.Currency})
		}
	}
	return s.render(w, r, status, "analytics", view{Title: "Analytics", Nav: "analytics", Error: errMsg, Notice: notice, Data: d})
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// formatPrice shows minor units as a decimal ("0.04"); empty for none.
func formatPrice(minor int64) string {
	if minor == 0 {
		return ""
	}
	return fmt.Sprintf("%d.%02d", minor/100, minor%100)
}

// parsePrice reads a price typed as a decimal with at most two places
// ("0.04", "0,04") into minor units; empty is no price.
func parsePrice(field, s string) (int64, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", "."))
	if s == "" {
		return 0, nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 {
		return 0, &gateway.FieldError{Field: field, Message: fmt.Sprintf("%q has more than two decimal places", s)}
	}
	frac += strings.Repeat("0", 2-len(frac))
	w, err1 := strconv.ParseInt(orDefault(whole, "0"), 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || w < 0 || w > 10_000 {
		return 0, &gateway.FieldError{Field: field, Message: fmt.Sprintf("%q is not a price such as 0.04", s)}
	}
	return w*100 + f, nil
}

// saveAttributionForm answers POST /analytics/settings.
func (s *server) saveAttributionForm(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	var st attribution.Settings
	days, err := strconv.ParseFloat(strings.TrimSpace(r.PostFormValue("click_window_days")), 64)
	if err != nil {
		return s.renderAnalytics(w, r, http.StatusBadRequest, "The click window must be a number of days, such as 5.", "")
	}
	hours, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("delivery_window_hours")))
	if err != nil {
		return s.renderAnalytics(w, r, http.StatusBadRequest, "The delivery window must be a whole number of hours, such as 24.", "")
	}
	st.ClickWindowHours, st.DeliveryWindowHours = int(math.Round(days*24)), hours
	_, err = s.gw.Attribution().SetSettings(st)
	if msg := formError(err); msg != "" {
		msg = strings.NewReplacer("click_window_hours", "The click window", "delivery_window_hours", "The delivery window").Replace(msg)
		return s.renderAnalytics(w, r, http.StatusBadRequest, msg, "")
	}
	if err != nil {
		return err
	}
	seeOther(w, r, "/analytics?done=settings")
	return nil
}

// savePriceForm answers POST /analytics/prices: one SIM's price per part.
func (s *server) savePriceForm(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	modem := r.PostFormValue("modem")
	price, err := parsePrice("price", r.PostFormValue("price"))
	if err == nil {
		err = s.gw.Attribution().SetPartPrice(attribution.PartPriceSetting{Modem: modem,
			Price: price, Currency: strings.ToUpper(strings.TrimSpace(r.PostFormValue("currency")))})
	}
	if msg := formError(err); msg != "" {
		return s.renderAnalytics(w, r, http.StatusBadRequest, "The price of "+modem+": "+msg, "")
	}
	if err != nil {
		return err
	}
	seeOther(w, r, "/analytics?done=prices")
	return nil
}

// resultName names a result key for people: "Campaign 5", "Campaign 5,
// variant B", "Campaign 5, holdout", "Flow 3", "Flow 3, step 2".
func resultName(key string) string {
	p := strings.Split(key, ":")
	switch {
	case key == "all":
		return "All texts"
	case len(p) == 2 && p[0] == "campaign":
		return "Campaign " + p[1]
	case len(p) == 2 && p[0] == "flow":
		return "Flow " + p[1]
	case len(p) == 4 && p[0] == "campaign" && p[3] == "holdout":
		return "Holdout (got no text)"
	case len(p) == 4 && p[0] == "campaign":
		return "Variant " + strings.ToUpper(p[3])
	case len(p) == 4 && p[0] == "flow":
		return "Step " + p[3]
	}
	return key
}

// resultLink is the page of a result key: its flow, or its campaign.
func resultLink(key string) string {
	p := strings.Split(key, ":")
	if len(p) >= 2 && (p[0] == "flow" || p[0] == "campaign") {
		return "/" + p[0] + "s/" + p[1]
	}
	return "/analytics"
}
