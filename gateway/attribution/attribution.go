// Package attribution measures what texts earned (issue 11 §4,
// docs/attribution.md): it credits each order to at most one marketing
// text (the last one clicked within the click window, else the last one
// delivered within the delivery window), counts keyword opt-outs against
// the text before them, and answers the results of every campaign,
// variant, flow and step from counters the store keeps as things happen:
// sends, deliveries, unique clicks, orders and revenue by kind of credit,
// opt-outs, cost, the holdout's lift, clicks by hour of the week, and
// each contact's best hour.
//
// The work is a consumer of the shop's event log and the consent ledger
// with cursors of its own; the store commits each page's effects with the
// cursors, so a crash never counts an order twice.
package attribution

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/store"
)

// Bounds of the windows: at least an hour (reports and clicks arrive
// minutes after a text), at most 30 days for a click and 7 for a delivery
// (a text read a month ago did not sell today's order).
const (
	MinWindow         = time.Hour
	MaxClickWindow    = 30 * 24 * time.Hour
	MaxDeliveryWindow = 7 * 24 * time.Hour
)

// idleWait is how long Run sleeps with nothing to do and no wake: a lost
// wake costs at most this delay, never an order.
const idleWait = time.Minute

// pageSize is how many events and ledger entries one transaction reads.
const pageSize = 500

// Config wires a Service.
type Config struct {
	DB    *store.DB
	Log   *slog.Logger
	Clock func() time.Time
}

// Service is the attribution room.
type Service struct {
	db   *store.DB
	log  *slog.Logger
	now  func() time.Time
	wake chan struct{}
}

// New returns the Service of cfg.
func New(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Service{db: cfg.DB, log: cfg.Log, now: cfg.Clock, wake: make(chan struct{}, 1)}
}

// Wake makes Run read the logs now (an event was appended, a number
// opted out). It never blocks.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run attributes what the logs hold until ctx is done.
func (s *Service) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
		if _, err := s.CatchUp(); err != nil {
			s.log.Error("attribution", "err", err)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(idleWait)
	}
}

// CatchUp reads the logs to their end and returns how many orders it
// credited to a text.
func (s *Service) CatchUp() (int, error) {
	w, err := s.db.AttributionWindowsSetting()
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		pass, err := s.db.AttributeNext(w, pageSize)
		if err != nil {
			return n, err
		}
		n += len(pass.Attributed)
		if !pass.More {
			return n, nil
		}
	}
}

// ResultKeys returns the result keys a text of origin counts under:
// "campaign:5:variant:b" → campaign:5 and campaign:5:variant:b,
// "flow:3:entry:77:step:2" → flow:3 and flow:3:step:2.
func ResultKeys(origin string) []string { return store.OriginResultKeys(origin) }

// Settings are the attribution windows, in whole hours.
type Settings struct {
	ClickWindowHours    int `json:"click_window_hours"`
	DeliveryWindowHours int `json:"delivery_window_hours"`
}

// Settings returns the windows in force.
func (s *Service) Settings() (Settings, error) {
	w, err := s.db.AttributionWindowsSetting()
	if err != nil {
		return Settings{}, err
	}
	return Settings{ClickWindowHours: int(w.Click / time.Hour), DeliveryWindowHours: int(w.Delivery / time.Hour)}, nil
}

// Validate checks st, naming the field at fault.
func (st Settings) Validate() error {
	check := func(field string, hours int, most time.Duration) error {
		d := time.Duration(hours) * time.Hour
		if d < MinWindow || d > most {
			return &store.FieldError{Field: field, Message: fmt.Sprintf("must be %d to %d hours, got %d", MinWindow/time.Hour, most/time.Hour, hours)}
		}
		return nil
	}
	if err := check("click_window_hours", st.ClickWindowHours, MaxClickWindow); err != nil {
		return err
	}
	return check("delivery_window_hours", st.DeliveryWindowHours, MaxDeliveryWindow)
}

// SetSettings validates and stores st. Orders already attributed keep
// their credit; the new windows apply from the next order read.
func (s *Service) SetSettings(st Settings) (Settings, error) {
	if err := st.Validate(); err != nil {
		return Settings{}, err
	}
	w := store.AttributionWindows{Click: time.Duration(st.ClickWindowHours) * time.Hour,
		Delivery: time.Duration(st.DeliveryWindowHours) * time.Hour}
	if err := s.db.SaveAttributionWindows(w); err != nil {
		return Settings{}, err
	}
	return st, nil
}

// Results are the numbers of one result key, counted as things happened,
// with the rates derived from them. Rates are fractions (0.031 is 3.1 %);
// money is in minor units of Currency.
type Results struct {
	Key               string           `json:"key"`
	Sent              int64            `json:"sent"`
	Delivered         int64            `json:"delivered"`
	Failed            int64            `json:"failed"`
	Parts             int64            `json:"parts"`
	UniqueClicks      int64            `json:"unique_clicks"`
	Orders            int64            `json:"orders"`
	OrdersByClick     int64            `json:"orders_by_click"`
	OrdersByDelivery  int64            `json:"orders_by_delivery"`
	OptOuts           int64            `json:"opt_outs"`
	Revenue           int64            `json:"revenue"`
	RevenueByClick    int64            `json:"revenue_by_click"`
	RevenueByDelivery int64            `json:"revenue_by_delivery"`
	Cost              int64            `json:"cost"`
	Currency          string           `json:"currency,omitempty"`
	RevenueByCurrency map[string]int64 `json:"revenue_by_currency,omitempty"`
	CostByCurrency    map[string]int64 `json:"cost_by_currency,omitempty"`
	Members           int64            `json:"members"`
	MembersOrdered    int64            `json:"members_ordered"`

	// ClickRate is unique clickers per text sent; ConversionRate orders
	// per text sent; OptOutRate opt-outs per text sent.
	ClickRate      float64 `json:"click_rate"`
	ConversionRate float64 `json:"conversion_rate"`
	OptOutRate     float64 `json:"opt_out_rate"`
	// RevenuePerText is revenue per text sent, in minor units.
	RevenuePerText float64 `json:"revenue_per_text"`
	// ReturnOnCost is revenue per unit of cost (3.5: every dollar spent on
	// texts brought 3.50); absent while nothing cost anything or the
	// revenue is in another currency than the cost.
	ReturnOnCost *float64 `json:"return_on_cost,omitempty"`
	// Lift over the holdout, for a campaign or variant with one.
	Lift *Lift `json:"lift,omitempty"`
}

// Results returns the results of key: "campaign:5", "campaign:5:variant:b",
// "flow:3", "flow:3:step:2", or "all".
func (s *Service) Results(key string) (Results, error) {
	if err := checkKey(key); err != nil {
		return Results{}, err
	}
	r, err := s.db.OriginResults(key)
	if err != nil {
		return Results{}, err
	}
	out := fromStore(key, r)
	if campaign, variant, ok := campaignOf(key); ok && variant != "holdout" {
		h, err := s.db.OriginResults(campaign + ":variant:holdout")
		if err != nil {
			return Results{}, err
		}
		if l, ok := LiftOf(r.MembersOrdered, r.Members, h.MembersOrdered, h.Members); ok {
			out.Lift = &l
		}
	}
	return out, nil
}

// FlowOrders is a flow's orders and revenue per currency as the rule
// credits them (package flows shows them on its pages).
func (s *Service) FlowOrders(flow uint64) (orders int64, revenue map[string]int64, err error) {
	r, err := s.db.OriginResults(fmt.Sprintf("flow:%d", flow))
	if err != nil {
		return 0, nil, err
	}
	return r.Orders, r.RevenueByCurrency, nil
}

// checkKey refuses what no origin makes, naming the field.
func checkKey(key string) error {
	if validKey(key) {
		return nil
	}
	return &store.FieldError{Field: "key", Message: fmt.Sprintf("%q is not a result key: use all, campaign:<id>, "+
		"campaign:<id>:variant:<a-d or holdout>, flow:<id> or flow:<id>:step:<n>", key)}
}

func validKey(key string) bool {
	isID := func(s string) bool {
		_, err := strconv.ParseUint(s, 10, 64)
		return err == nil
	}
	p := strings.Split(key, ":")
	switch {
	case key == store.ResultKeyAll:
		return true
	case len(p) == 2:
		return (p[0] == "campaign" || p[0] == "flow") && isID(p[1])
	case len(p) == 4 && p[0] == "campaign" && p[2] == "variant":
		return isID(p[1]) && (p[3] == "holdout" || len(p[3]) == 1 && p[3][0] >= 'a' && p[3][0] <= 'z')
	case len(p) == 4 && p[0] == "flow" && p[2] == "step":
		return isID(p[1]) && isID(p[3])
	}
	return false
}

// campaignOf splits "campaign:5" and "campaign:5:variant:b".
func campaignOf(key string) (campaign, variant string, ok bool) {
	parts := strings.Split(key, ":")
	switch {
	case len(parts) == 2 && parts[0] == "campaign":
		return key, "", true
	case len(parts) == 4 && parts[0] == "campaign" && parts[2] == "variant":
		return parts[0] + ":" + parts[1], parts[3], true
	}
	return "", "", false
}

func fromStore(key string, r store.OriginResults) Results {
	out := Results{Key: key, Sent: r.Sent, Delivered: r.Delivered, Failed: r.Failed, Parts: r.Parts,
		UniqueClicks: r.UniqueClicks, Orders: r.Orders, OrdersByClick: r.OrdersByClick, OrdersByDelivery: r.OrdersByDelivery,
		OptOuts: r.OptOuts, Revenue: r.Revenue, RevenueByClick: r.RevenueByClick, RevenueByDelivery: r.RevenueByDelivery,
		Cost: r.Cost, Currency: r.Currency, RevenueByCurrency: r.RevenueByCurrency, CostByCurrency: r.CostByCurrency,
		Members: r.Members, MembersOrdered: r.MembersOrdered}
	if r.Sent > 0 {
		out.ClickRate = float64(r.UniqueClicks) / float64(r.Sent)
		out.ConversionRate = float64(r.Orders) / float64(r.Sent)
		out.OptOutRate = float64(r.OptOuts) / float64(r.Sent)
		out.RevenuePerText = float64(r.Revenue) / float64(r.Sent)
	}
	if r.Cost > 0 && r.CostByCurrency[r.Currency] == r.Cost {
		roc := float64(r.Revenue) / float64(r.Cost)
		out.ReturnOnCost = &roc
	}
	return out
}

// Table returns the results of every campaign and flow that has any,
// campaigns first, each by its key's number.
func (s *Service) Table() ([]Results, error) {
	var out []Results
	for _, prefix := range []string{"campaign:", "flow:"} {
		keys, err := s.db.ResultKeysWithPrefix(prefix)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if strings.Count(k, ":") != 1 {
				continue // a variant or a step: on its campaign's or flow's page
			}
			r, err := s.Results(k)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// Breakdown returns the results of the keys under key: the variants of a
// campaign (the holdout included) or the steps of a flow.
func (s *Service) Breakdown(key string) ([]Results, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	var sub string
	switch {
	case strings.HasPrefix(key, "campaign:") && strings.Count(key, ":") == 1:
		sub = key + ":variant:"
	case strings.HasPrefix(key, "flow:") && strings.Count(key, ":") == 1:
		sub = key + ":step:"
	default:
		return nil, nil
	}
	keys, err := s.db.ResultKeysWithPrefix(sub)
	if err != nil {
		return nil, err
	}
	var out []Results
	for _, k := range keys {
		r, err := s.Results(k)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Hour is one hour of a result key's timeline.
type Hour struct {
	Start  time.Time `json:"start"`
	Sent   int64     `json:"sent"`
	Clicks int64     `json:"clicks"`
	Orders int64     `json:"orders"`
}

// Timeline returns the hours of key from from, up to hours of them, that
// have a send, a click or an order.
func (s *Service) Timeline(key string, from time.Time, hours int) ([]Hour, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if hours <= 0 || hours > 24*400 {
		return nil, &store.FieldError{Field: "hours", Message: "must be 1 to 9600"}
	}
	th, err := s.db.ResultTimeline(key, from, hours)
	if err != nil {
		return nil, err
	}
	out := make([]Hour, len(th))
	for i, h := range th {
		out[i] = Hour{Start: h.Start, Sent: h.Sent, Clicks: h.Clicks, Orders: h.Orders}
	}
	return out, nil
}
