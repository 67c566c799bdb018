package flows

import (
	"fmt"
	"time"
)

// Preset is a ready-made flow a shop enables with one click and then
// edits like any other.
type Preset struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

// PresetOptions adjust a preset when it is enabled; zero values take the
// defaults each preset names.
type PresetOptions struct {
	// Delay is the abandoned-cart wait before the first text (1 h).
	Delay Duration `json:"delay,omitempty"`
	// SecondText adds the abandoned cart's second text with DiscountCode,
	// 24 h after the checkout.
	SecondText   bool   `json:"second_text,omitempty"`
	DiscountCode string `json:"discount_code,omitempty"`
	// Days without an order before the win-back text (60).
	Days int `json:"days,omitempty"`
}

// Presets lists the ready-made flows.
func Presets() []Preset {
	return []Preset{
		{"abandoned_cart", "Abandoned cart", "One text an hour after a checkout with no order, optionally a second with a discount after 24 h; an order ends it."},
		{"welcome", "Welcome", "A text as soon as a contact opts in to marketing."},
		{"thank_you", "Post-purchase thank-you", "A thank-you an hour after an order."},
		{"win_back", "Win-back", "A text after N days without an order (60 by default); a new order starts the count again."},
		{"browse_abandonment", "Browse abandonment", "A contact viewed a product twice within a day and started no checkout: one text two hours later."},
		{"birthday", "Birthday", "A text at 10:00 on the contact's birthday (attribute birthday, YYYY-MM-DD or MM-DD)."},
	}
}

// PresetDefinition returns the definition and name of a preset.
func PresetDefinition(name string, o PresetOptions) (string, Definition, error) {
	noCheckoutOrder := Step{Condition: &Condition{Kind: CondNoOrder, Scope: "checkout"}}
	switch name {
	case "abandoned_cart":
		delay := o.Delay
		if delay <= 0 {
			delay = Duration(time.Hour)
		}
		d := Definition{
			Trigger: Trigger{Kind: TriggerEvent, Event: "checkout_started"},
			Steps: []Step{
				{Wait: &Wait{For: delay}},
				noCheckoutOrder,
				{Send: &Send{Kind: "marketing", Template: `Hi {{ .first_name | default "there" }}, you left {{ (first .cart.items).name | default "something" }} in your cart. Finish your order: {{ link .cart.url }}`}},
			},
			Exit: Exit{OnOrder: "checkout"},
		}
		if o.SecondText {
			code := o.DiscountCode
			if code == "" {
				code = "COMEBACK10"
			}
			rest := Duration(24*time.Hour) - delay
			if rest <= 0 {
				rest = Duration(time.Hour)
			}
			d.Steps = append(d.Steps,
				Step{Wait: &Wait{For: rest}},
				noCheckoutOrder,
				Step{Send: &Send{Kind: "marketing", Template: `{{ .first_name | default "Hi" }}, your cart is still waiting. Use code ` + code + ` for 10% off: {{ link .cart.url }}`}},
			)
		}
		return "Abandoned cart", d, nil
	case "welcome":
		return "Welcome", Definition{
			Trigger: Trigger{Kind: TriggerOptedIn},
			Steps:   []Step{{Send: &Send{Kind: "marketing", Template: `Welcome {{ .first_name | default "aboard" }}! Thanks for joining our texts.`}}},
		}, nil
	case "thank_you":
		return "Post-purchase thank-you", Definition{
			Trigger: Trigger{Kind: TriggerEvent, Event: "order_placed"},
			Steps: []Step{
				{Wait: &Wait{For: Duration(time.Hour)}},
				{Send: &Send{Kind: "transactional", Template: `Thank you for your order, {{ .first_name | default "friend" }}! We will text you when it ships.`}},
			},
		}, nil
	case "win_back":
		days := o.Days
		if days <= 0 {
			days = 60
		}
		if days > 365 {
			return "", Definition{}, fieldErr("days", "at most 365")
		}
		return "Win-back", Definition{
			Trigger: Trigger{Kind: TriggerEvent, Event: "order_placed"},
			Steps: []Step{
				{Wait: &Wait{For: Duration(time.Duration(days) * 24 * time.Hour), Until: "11:00"}},
				{Condition: &Condition{Kind: CondNoOrder, Scope: "contact"}},
				{Send: &Send{Kind: "marketing", Template: `We miss you, {{ .first_name | default "friend" }}! Come back and see what's new.`}},
			},
			Exit: Exit{OnOrder: "contact"},
		}, nil
	case "browse_abandonment":
		return "Browse abandonment", Definition{
			Trigger: Trigger{Kind: TriggerEvent, Event: "product_viewed", MinCount: 2, Within: Duration(24 * time.Hour),
				PerContact: true, ReenterAfter: Duration(7 * 24 * time.Hour)},
			Steps: []Step{
				{Wait: &Wait{For: Duration(2 * time.Hour)}},
				{Condition: &Condition{Kind: CondNoEvent, Event: "checkout_started"}},
				{Send: &Send{Kind: "marketing", Template: `Still thinking about {{ .event.name | default "it" }}? Take another look: {{ link .event.url }}`}},
			},
		}, nil
	case "birthday":
		return "Birthday", Definition{
			Trigger: Trigger{Kind: TriggerDate, Attribute: "birthday"},
			Steps: []Step{
				{Wait: &Wait{Until: "10:00"}},
				{Send: &Send{Kind: "marketing", Template: `Happy birthday {{ .first_name | default "" }}! Here is 15% off today with code BDAY15.`}},
			},
		}, nil
	}
	return "", Definition{}, fieldErr("preset", "unknown preset %q", name)
}

// presetFor checks a preset name early, for the API's error.
func presetFor(name string) error {
	for _, p := range Presets() {
		if p.Name == name {
			return nil
		}
	}
	return fmt.Errorf("unknown preset %q", name)
}
