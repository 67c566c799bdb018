package attribution

import (
	"fmt"

	"github.com/simgate/simgate/store"
)

// Heat is when the clickers of a scope click: counts by weekday (0 =
// Sunday) and hour of each clicker's own day (the contact's time zone,
// else the shop's), kept as clicks arrive.
type Heat struct {
	Scope string       `json:"scope"`
	Cells [7][24]int64 `json:"cells"`
	Total int64        `json:"total"`
	// BusiestDay and BusiestHour are the weekday and hour with the most
	// clicks; -1 while there is none.
	BusiestDay  int `json:"busiest_day"`
	BusiestHour int `json:"busiest_hour"`
}

// ClickHeat returns the clicks of scope ("all" or a result key) by hour
// of the week.
func (s *Service) ClickHeat(scope string) (Heat, error) {
	if err := checkKey(scope); err != nil {
		return Heat{}, err
	}
	cells, err := s.db.ClickHours(scope)
	if err != nil {
		return Heat{}, err
	}
	h := Heat{Scope: scope, Cells: cells, BusiestDay: -1, BusiestHour: -1}
	var byDay [7]int64
	var byHour [24]int64
	for d := range cells {
		for hr, n := range cells[d] {
			h.Total += n
			byDay[d] += n
			byHour[hr] += n
		}
	}
	if h.Total > 0 {
		h.BusiestDay, h.BusiestHour = argmax(byDay[:]), argmax(byHour[:])
	}
	return h, nil
}

// argmax is the index of the largest count, the earliest on a tie.
func argmax(xs []int64) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

// BestHour is the hour of the day (0–23, the contact's own time) number
// clicked most in the past, the earliest on a tie; ok is false for a
// number that never clicked. The "best hour" schedule falls back to
// AudienceBestHour.
func (s *Service) BestHour(number string) (hour int, ok bool, err error) {
	hours, err := s.db.NumberClickHours(number)
	if err != nil {
		return 0, false, err
	}
	var total int64
	for _, n := range hours {
		total += n
	}
	if total == 0 {
		return 0, false, nil
	}
	return argmax(hours[:]), true, nil
}

// BestHourOf is the hour of the day the given numbers together clicked
// most, each in its own time (a campaign's audience); with no click among
// them, every clicker's (AudienceBestHour). ok is false before the box's
// first click.
func (s *Service) BestHourOf(numbers []string) (hour int, ok bool, err error) {
	hours, err := s.db.NumbersClickHours(numbers)
	if err != nil {
		return 0, false, err
	}
	var total int64
	for _, n := range hours {
		total += n
	}
	if total > 0 {
		return argmax(hours[:]), true, nil
	}
	return s.AudienceBestHour()
}

// AudienceBestHour is the hour of the day every clicker together clicked
// most, each in its own time; ok is false before the first click.
func (s *Service) AudienceBestHour() (hour int, ok bool, err error) {
	h, err := s.ClickHeat(store.ResultKeyAll)
	if err != nil || h.Total == 0 {
		return 0, false, err
	}
	return h.BusiestHour, true, nil
}

// PartPriceSetting is what one part sent through a SIM costs the shop.
type PartPriceSetting struct {
	Modem    string `json:"modem"`
	Price    int64  `json:"price"`    // minor units (cents)
	Currency string `json:"currency"` // ISO 4217, "USD"
}

// PartPrices returns the price per part of every SIM that has one.
func (s *Service) PartPrices() ([]PartPriceSetting, error) {
	ps, err := s.db.PartPrices()
	if err != nil {
		return nil, err
	}
	out := make([]PartPriceSetting, len(ps))
	for i, p := range ps {
		out[i] = PartPriceSetting{Modem: p.Modem, Price: p.Price, Currency: p.Currency}
	}
	return out, nil
}

// PartPrice is the price per part of modem, for a campaign's dry run.
func (s *Service) PartPrice(modem string) (minor int64, currency string, ok bool) {
	ps, err := s.db.PartPrices()
	if err != nil {
		return 0, "", false
	}
	for _, p := range ps {
		if p.Modem == modem {
			return p.Price, p.Currency, true
		}
	}
	return 0, "", false
}

// SetPartPrice sets (a price above 0) or clears (0) the price per part of
// a SIM; parts already sent keep the price they went at.
func (s *Service) SetPartPrice(p PartPriceSetting) error {
	if p.Price > 1_000_000 {
		return &store.FieldError{Field: "price", Message: fmt.Sprintf("%d minor units per part is beyond any tariff", p.Price)}
	}
	return s.db.SetPartPrice(store.PartPrice{Modem: p.Modem, Price: p.Price, Currency: p.Currency})
}
