package shopevents

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simgate/simgate/store"
)

// seqNotifier keeps the last Seq it was told of.
type seqNotifier struct{ last atomic.Uint64 }

func (n *seqNotifier) EventsAppended(seq uint64) { n.last.Store(seq) }

var testNow = time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)

func newService(t *testing.T) (*Service, *store.DB, *seqNotifier) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"), store.WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	n := &seqNotifier{}
	s, err := New(Config{DB: db, Region: "US", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock: func() time.Time { return testNow }, Notify: n})
	if err != nil {
		t.Fatal(err)
	}
	return s, db, n
}

func TestParseMoney(t *testing.T) {
	for _, tc := range []struct {
		text, currency string
		want           int64
		err            string
	}{
		{"199.00", "USD", 19900, ""},
		{"199", "USD", 19900, ""},
		{"0.1", "USD", 10, ""},
		{"13.35", "EUR", 1335, ""},
		{"199.000", "USD", 19900, ""},
		{"-5.5", "USD", -550, ""},
		{"1500", "JPY", 1500, ""},
		{"1.234", "KWD", 1234, ""},
		{".5", "USD", 50, ""},
		{"199.005", "USD", 0, "more decimals"},
		{"1.5", "JPY", 0, "more decimals"},
		{"1e2", "USD", 0, "not a decimal"},
		{"12,50", "EUR", 0, "not a decimal"},
		{"", "USD", 0, "empty"},
		{".", "USD", 0, "not a decimal"},
		{"92233720368547758.08", "USD", 0, "too large"},
	} {
		got, err := ParseMoney(tc.text, tc.currency)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseMoney(%q, %s) = %d, %v; want an error with %q", tc.text, tc.currency, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseMoney(%q, %s) = %d, %v; want %d", tc.text, tc.currency, got, err, tc.want)
		}
		if back := FormatMoney(got, tc.currency); tc.text == "199.00" && back != "199.00" {
			t.Errorf("FormatMoney(%d) = %q", got, back)
		}
	}
	if got := FormatMoney(-550, "USD"); got != "-5.50" {
		t.Errorf("FormatMoney(-550) = %q", got)
	}
	if got := FormatMoney(1500, "JPY"); got != "1500" {
		t.Errorf("FormatMoney(1500 JPY) = %q", got)
	}
}

// TestBatchNamesEveryBadEvent: a batch with bad events stores nothing and
// names each problem by index and field.
func TestBatchNamesEveryBadEvent(t *testing.T) {
	s, db, _ := newService(t)
	body := `[
	 {"id":"e1","type":"checkout_started","phone":"+12015550123","properties":{"checkout_id":"c1","currency":"USD","total":"10.00"}},
	 {"id":"e2","type":"Checkout Started","phone":"+12015550123"},
	 {"id":"e3","type":"order_placed","phone":"+12015550123","occurred_at":"yesterday","properties":{"currency":"USD","total":"1.005"}},
	 {"type":"product_viewed","phone":"not a number"},
	 {"id":"e1","type":"custom_thing","email":"x@example.com","colour":"red"},
	 {"id":"e6","type":"checkout_updated","phone":"+12015550123","properties":{"checkout_id":"c1","items":[{"name":"A","price":"2.50","quantity":0}]}},
	 {"id":"e1","type":"x","phone":"+12015550123"}
	]`
	_, err := s.Ingest(context.Background(), []byte(body))
	var be *BatchError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a *BatchError", err)
	}
	fields := map[string]bool{}
	for _, p := range be.Problems {
		fields[p.Field] = true
	}
	for _, want := range []string{
		"events[1].type", "events[2].occurred_at", "events[2].properties.order_id", "events[2].properties.total",
		"events[3].id", "events[6].id", "events[4].colour", "events[5].properties.items[0].price", "events[5].properties.items[0].quantity",
	} {
		if !fields[want] {
			t.Errorf("no problem named %s; got %v", want, be.Problems)
		}
	}
	if last, _ := db.LastEventSeq(); last != 0 {
		t.Errorf("a bad batch stored events (last seq %d)", last)
	}
	if n, _ := db.CountContacts(); n != 0 {
		t.Errorf("a bad batch created %d contacts", n)
	}
	// The phone of events[3] is only read once the batch is otherwise
	// valid: its problem comes with the contacts' resolution.
	_, err = s.Ingest(context.Background(), []byte(`[{"id":"a","type":"x","phone":"+12015550123"},{"id":"b","type":"x","phone":"not a number"}]`))
	if !errors.As(err, &be) || be.Problems[0].Field != "events[1].phone" {
		t.Errorf("bad phone: %v", err)
	}
}

func TestBatchLimits(t *testing.T) {
	s, _, _ := newService(t)
	var b strings.Builder
	b.WriteString("[")
	for i := 0; i <= MaxBatch; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"id":"e","type":"x","phone":"+12015550123"}`)
	}
	b.WriteString("]")
	for body, want := range map[string]string{
		b.String(): "at most 1000",
		`[]`:       "no event",
		`{"id":`:   "malformed JSON",
		`"text"`:   "event object or an array",
		`{} {}`:    "trailing data",
	} {
		_, err := s.Ingest(context.Background(), []byte(body))
		if err == nil || !strings.Contains(err.Error(), want) {
			name := body
			if len(name) > 30 {
				name = name[:30]
			}
			t.Errorf("%s: err = %v, want %q", name, err, want)
		}
	}
}

// TestIngestStoresNormalisedEvents: money in minor units, ids as strings,
// the checkout id and total promoted, the contact created without consent,
// a retry a duplicate, and the notifier told the newest Seq.
func TestIngestStoresNormalisedEvents(t *testing.T) {
	s, db, n := newService(t)
	body := `{"id":"chk-1-start","type":"checkout_started","phone":"(201) 555-0123","occurred_at":"2026-12-01T09:30:00-05:00",
	  "properties":{"checkout_id":4471,"currency":"usd","total":199.5,"resume_url":"https://shop.example/c/4471",
	  "first_name":"Ana","last_name":"Lima","email":"Ana@Example.com",
	  "items":[{"name":"Linen Shirt","url":"https://shop.example/p/1","price":"49.75","quantity":2,"colour":"sand"},{"name":"Scarf","price":100}]}}`
	res, err := s.Ingest(context.Background(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if res.Stored != 1 || res.Events[0].Status != "stored" || res.Events[0].Seq == 0 {
		t.Fatalf("result %+v", res)
	}
	if n.last.Load() != res.Events[0].Seq {
		t.Errorf("notifier told %d, want %d", n.last.Load(), res.Events[0].Seq)
	}
	ev, err := db.Event(res.Events[0].Seq)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Number != "+12015550123" || ev.Source != SourceAPI || ev.CheckoutID != "4471" || ev.Total != 19950 || ev.Currency != "USD" ||
		!ev.OccurredAt.Equal(time.Date(2026, 12, 1, 14, 30, 0, 0, time.UTC)) || len(ev.Ends) != 0 {
		t.Errorf("stored %+v", ev)
	}
	var props struct {
		Items []struct {
			Name     string `json:"name"`
			Price    int64  `json:"price"`
			Quantity int64  `json:"quantity"`
			Colour   string `json:"colour"`
		} `json:"items"`
		ResumeURL string `json:"resume_url"`
		Total     int64  `json:"total"`
	}
	if err := json.Unmarshal(ev.Properties, &props); err != nil {
		t.Fatal(err)
	}
	if len(props.Items) != 2 || props.Items[0].Price != 4975 || props.Items[0].Quantity != 2 || props.Items[0].Colour != "sand" ||
		props.Items[1].Price != 10000 || props.Items[1].Quantity != 1 || props.ResumeURL != "https://shop.example/c/4471" || props.Total != 19950 {
		t.Errorf("properties %s", ev.Properties)
	}
	c, err := db.ContactByNumber("+12015550123")
	if err != nil {
		t.Fatalf("no contact created: %v", err)
	}
	if c.Name != "Ana Lima" || c.Attributes["email"] != "ana@example.com" || c.Source != SourceAPI || c.TimeZone == "" {
		t.Errorf("contact %+v", c)
	}
	if cons, _ := db.Consent("+12015550123"); cons.Marketing == store.MarketingConfirmed || cons.Marketing == store.MarketingPending {
		t.Errorf("an event gave consent: %+v", cons)
	}
	// A retry: nothing new, answered as a duplicate.
	again, err := s.Ingest(context.Background(), []byte(body))
	if err != nil || again.Duplicates != 1 || again.Stored != 0 || again.Events[0].Status != "duplicate" {
		t.Errorf("retry: %+v, %v", again, err)
	}
	// By email and by contact id, the contact is found.
	byEmail := `[{"id":"v1","type":"product_viewed","email":"ANA@example.com","properties":{"product_id":"p9","url":"https://shop.example/p/9","price":"5","currency":"USD"}},
	  {"id":"v2","type":"wishlist_added","contact_id":` + jsonNumber(c.ID) + `,"properties":{"anything":{"nested":[1,2]}}}]`
	res, err = s.Ingest(context.Background(), []byte(byEmail))
	if err != nil || res.Stored != 2 {
		t.Fatalf("by email / contact id: %+v, %v", res, err)
	}
	evs, err := s.Events("+12015550123")
	if err != nil || len(evs) != 3 {
		t.Fatalf("timeline: %d events, %v", len(evs), err)
	}
	if string(evs[2].Properties) != `{"anything":{"nested":[1,2]}}` && string(evs[1].Properties) != `{"anything":{"nested":[1,2]}}` {
		t.Errorf("custom properties not kept as sent: %s / %s", evs[1].Properties, evs[2].Properties)
	}
	// An unknown email fails the batch, naming it.
	_, err = s.Ingest(context.Background(), []byte(`{"id":"v3","type":"x","email":"nobody@example.com"}`))
	var be *BatchError
	if !errors.As(err, &be) || be.Problems[0].Field != "email" {
		t.Errorf("unknown email: %v", err)
	}
	log, _ := s.Deliveries()
	if len(log) < 3 || log[0].Source != SourceAPI || log[0].Status != 400 {
		t.Errorf("hook log %+v", log)
	}
}

func jsonNumber(n uint64) string { b, _ := json.Marshal(n); return string(b) }

// TestOrderEndsItsCheckout: an order with a checkout id marks the
// checkout's exit key, for native events as for the platforms.
func TestOrderEndsItsCheckout(t *testing.T) {
	s, db, _ := newService(t)
	_, err := s.Ingest(context.Background(), []byte(`{"id":"o-1001","type":"order_placed","phone":"+12015550123",
	  "properties":{"order_id":"1001","checkout_id":"4471","currency":"USD","total":"199.00"}}`))
	if err != nil {
		t.Fatal(err)
	}
	mark, ok, err := db.ExitMarked("checkout:api:4471")
	if err != nil || !ok || !strings.Contains(mark.Reason, "1001") {
		t.Errorf("exit mark %+v, %v, %v", mark, ok, err)
	}
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const testSecret = "shpss_0123456789abcdef"

func TestShopifyWebhooks(t *testing.T) {
	s, db, _ := newService(t)
	ctx := context.Background()
	body := fixture(t, "shopify_checkouts_create.json")
	d := Delivery{Topic: "checkouts/create", DeliveryID: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", Shop: "atelier.myshopify.com", Body: body, Signature: Sign(testSecret, body)}
	if _, err := s.Shopify(ctx, d); !errors.Is(err, ErrNoSecret) {
		t.Fatalf("no secret set: %v", err)
	}
	secret := testSecret
	if _, err := s.SaveSettings(SettingsPatch{ShopifySecret: &secret}, "test"); err != nil {
		t.Fatal(err)
	}
	bad := d
	bad.Signature = Sign("another secret", body)
	if _, err := s.Shopify(ctx, bad); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("bad signature: %v", err)
	}
	bad.Signature = ""
	if _, err := s.Shopify(ctx, bad); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("no signature: %v", err)
	}
	tampered := d
	tampered.Body = []byte(strings.Replace(string(body), `"199.00"`, `"1.00"`, 1))
	if _, err := s.Shopify(ctx, tampered); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("tampered body: %v", err)
	}
	if last, _ := db.LastEventSeq(); last != 0 {
		t.Fatalf("refused deliveries stored events")
	}

	res, err := s.Shopify(ctx, d)
	if err != nil || res.Stored != 1 {
		t.Fatalf("checkouts/create: %+v, %v", res, err)
	}
	ev, _ := db.Event(res.Events[0].Seq)
	if ev.Type != TypeCheckoutStarted || ev.CheckoutID != "981820079255243537" || ev.Total != 19900 || ev.Currency != "USD" ||
		ev.Number != "+12015550123" || ev.ID != d.DeliveryID || !ev.OccurredAt.Equal(time.Date(2026, 11, 30, 23, 42, 16, 0, time.UTC)) {
		t.Errorf("checkout event %+v", ev)
	}
	var props struct {
		ResumeURL string `json:"resume_url"`
		FirstName string `json:"first_name"`
		Items     []struct {
			Name     string `json:"name"`
			Price    int64  `json:"price"`
			Quantity int64  `json:"quantity"`
		} `json:"items"`
	}
	_ = json.Unmarshal(ev.Properties, &props)
	if !strings.HasPrefix(props.ResumeURL, "https://atelier.example/") || props.FirstName != "Ana" || len(props.Items) != 2 ||
		props.Items[0].Name != "Linen Shirt" || props.Items[0].Price != 4950 || props.Items[0].Quantity != 2 {
		t.Errorf("checkout properties %s", ev.Properties)
	}
	// The same delivery again (Shopify retries with the same webhook id).
	if res, err := s.Shopify(ctx, d); err != nil || res.Duplicates != 1 {
		t.Errorf("redelivery: %+v, %v", res, err)
	}
	// The order ends the checkout.
	obody := fixture(t, "shopify_orders_create.json")
	res, err = s.Shopify(ctx, Delivery{Topic: "orders/create", DeliveryID: "0c2b7a0e-1", Body: obody, Signature: Sign(testSecret, obody)})
	if err != nil || res.Stored != 1 {
		t.Fatalf("orders/create: %+v, %v", res, err)
	}
	order, _ := db.Event(res.Events[0].Seq)
	if order.Type != TypeOrderPlaced || order.OrderID != "1001" || order.CheckoutID != "981820079255243537" || order.Total != 19900 ||
		len(order.Ends) != 1 || order.Ends[0] != "checkout:shopify:981820079255243537" {
		t.Errorf("order event %+v", order)
	}
	if _, ok, _ := db.ExitMarked("checkout:shopify:981820079255243537"); !ok {
		t.Error("the order did not end its checkout")
	}
	// A completed checkout is an order too.
	cbody := fixture(t, "shopify_checkouts_update_completed.json")
	res, err = s.Shopify(ctx, Delivery{Topic: "checkouts/update", DeliveryID: "0c2b7a0e-2", Body: cbody, Signature: Sign(testSecret, cbody)})
	if err != nil || res.Stored != 1 {
		t.Fatalf("completed checkout: %+v, %v", res, err)
	}
	done, _ := db.Event(res.Events[0].Seq)
	if done.Type != TypeOrderPlaced || len(done.Ends) != 1 || done.Ends[0] != "checkout:shopify:981820079255243537" {
		t.Errorf("completed checkout event %+v", done)
	}
	// Unknown topic: answered, logged, not stored.
	pbody := []byte(`{"id":1}`)
	last, _ := db.LastEventSeq()
	res, err = s.Shopify(ctx, Delivery{Topic: "products/update", Body: pbody, Signature: Sign(testSecret, pbody)})
	if err != nil || res.Ignored == "" {
		t.Errorf("unknown topic: %+v, %v", res, err)
	}
	// Malformed JSON, signed.
	mbody := []byte(`{"id": 1,`)
	var malformed *MalformedError
	if _, err := s.Shopify(ctx, Delivery{Topic: "orders/create", Body: mbody, Signature: Sign(testSecret, mbody)}); !errors.As(err, &malformed) {
		t.Errorf("malformed: %v", err)
	}
	if now, _ := db.LastEventSeq(); now != last {
		t.Errorf("an unknown topic or malformed body stored an event")
	}
	log, _ := s.Deliveries()
	var outcomes []string
	for _, l := range log {
		outcomes = append(outcomes, l.Outcome)
		if strings.Contains(l.Outcome, testSecret) {
			t.Errorf("the hook log shows the secret: %q", l.Outcome)
		}
	}
	joined := strings.Join(outcomes, "\n")
	for _, want := range []string{"bad signature", "ignored: topic \"products/update\"", "malformed", "already stored", "stored 1", "no webhook secret"} {
		if !strings.Contains(joined, want) {
			t.Errorf("hook log lacks %q:\n%s", want, joined)
		}
	}
}

func TestShopifyCustomerConsentGoesToTheRecorder(t *testing.T) {
	s, _, _ := newService(t)
	var got []ShopConsent
	var numbers []string
	s.consent = recorderFunc(func(number string, c ShopConsent) error {
		numbers, got = append(numbers, number), append(got, c)
		return nil
	})
	secret := testSecret
	if _, err := s.SaveSettings(SettingsPatch{ShopifySecret: &secret}, "test"); err != nil {
		t.Fatal(err)
	}
	body := fixture(t, "shopify_customers_create.json")
	res, err := s.Shopify(context.Background(), Delivery{Topic: "customers/create", DeliveryID: "c-1", Shop: "atelier.myshopify.com", Body: body, Signature: Sign(testSecret, body)})
	if err != nil || res.Stored != 1 {
		t.Fatalf("customers/create: %+v, %v", res, err)
	}
	if len(got) != 1 || numbers[0] != "+12015550177" || got[0].Source != "shopify:atelier.myshopify.com" || !strings.Contains(got[0].Note, "single_opt_in") {
		t.Errorf("consent recorded %v %+v", numbers, got)
	}
	// Collected by another app: not the shop's checkout, so no entry.
	other := []byte(strings.Replace(string(body), `"SHOPIFY"`, `"OTHER"`, 1))
	if _, err := s.Shopify(context.Background(), Delivery{Topic: "customers/update", DeliveryID: "c-2", Body: other, Signature: Sign(testSecret, other)}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Errorf("consent collected by another app was recorded: %+v", got)
	}
}

// recorderFunc lets a test see what the part hands the consent ledger;
// the facade's tests run it against the real ledger.
type recorderFunc func(number string, c ShopConsent) error

func (f recorderFunc) CheckoutOptIn(_ context.Context, number string, c ShopConsent) error {
	return f(number, c)
}

func TestWooCommerceWebhooks(t *testing.T) {
	s, db, _ := newService(t)
	ctx := context.Background()
	secret := "wc-secret-0123"
	if _, err := s.SaveSettings(SettingsPatch{WooCommerceSecret: &secret}, "test"); err != nil {
		t.Fatal(err)
	}
	if !s.WooCommercePing([]byte("webhook_id=17")) || s.WooCommercePing([]byte(`{"id":1}`)) {
		t.Error("ping not recognised")
	}
	pending := fixture(t, "woocommerce_order_pending.json")
	res, err := s.WooCommerce(ctx, Delivery{Topic: "order.created", DeliveryID: "d-1", Body: pending, Signature: Sign(secret, pending)})
	if err != nil || res.Stored != 1 {
		t.Fatalf("pending order: %+v, %v", res, err)
	}
	chk, _ := db.Event(res.Events[0].Seq)
	if chk.Type != TypeCheckoutStarted || chk.CheckoutID != "727" || chk.Total != 2935 || chk.Currency != "EUR" || chk.Number != "+4915123456789" {
		t.Errorf("pending order event %+v", chk)
	}
	paid := fixture(t, "woocommerce_order_processing.json")
	for i, id := range []string{"d-2", "d-3"} { // created, then an update repeating the status
		topic := "order.updated"
		res, err := s.WooCommerce(ctx, Delivery{Topic: topic, DeliveryID: id, Body: paid, Signature: Sign(secret, paid)})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && res.Stored != 1 || i == 1 && res.Duplicates != 1 {
			t.Errorf("delivery %d: %+v", i, res)
		}
	}
	evs, _ := db.EventsOf("+4915123456789", TypeOrderPlaced, time.Time{})
	if len(evs) != 1 || evs[0].OrderID != "727" || evs[0].Total != 2935 || evs[0].Ends[0] != "checkout:woocommerce:727" {
		t.Fatalf("order events %+v", evs)
	}
	var props struct {
		Items []struct {
			Price int64 `json:"price"`
		} `json:"items"`
	}
	_ = json.Unmarshal(evs[0].Properties, &props)
	if len(props.Items) != 2 || props.Items[0].Price != 300 || props.Items[1].Price != 1335 {
		t.Errorf("item prices from JSON numbers: %s", evs[0].Properties)
	}
	if _, err := s.WooCommerce(ctx, Delivery{Topic: "order.created", Body: paid, Signature: Sign("wrong-secret-1", paid)}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("bad signature: %v", err)
	}
	cancelled := []byte(strings.Replace(string(paid), `"processing"`, `"cancelled"`, 1))
	if res, err := s.WooCommerce(ctx, Delivery{Topic: "order.updated", Body: cancelled, Signature: Sign(secret, cancelled)}); err != nil || res.Ignored == "" {
		t.Errorf("cancelled order: %+v, %v", res, err)
	}
	if res, err := s.WooCommerce(ctx, Delivery{Topic: "product.created", Body: paid, Signature: Sign(secret, paid)}); err != nil || res.Ignored == "" {
		t.Errorf("unknown topic: %+v, %v", res, err)
	}
}

func TestSettingsAndRetention(t *testing.T) {
	s, db, _ := newService(t)
	short := "abc"
	if _, err := s.SaveSettings(SettingsPatch{ShopifySecret: &short}, "t"); err == nil {
		t.Error("a 3-character secret was accepted")
	}
	days := -1
	if _, err := s.SaveSettings(SettingsPatch{RetentionDays: &days}, "t"); err == nil {
		t.Error("a negative retention was accepted")
	}
	if got := Mask("shpss_0123456789abcdef"); got != "••••••••cdef" || strings.Contains(Mask("short123"), "123") {
		t.Errorf("Mask = %q", got)
	}
	if _, err := s.Ingest(context.Background(), []byte(`{"id":"old","type":"x","phone":"+12015550123"}`)); err != nil {
		t.Fatal(err)
	}
	days = 30
	if _, err := s.SaveSettings(SettingsPatch{RetentionDays: &days}, "t"); err != nil {
		t.Fatal(err)
	}
	// Reloaded from the store, as after a restart.
	again, err := New(Config{DB: db, Region: "US", Log: s.log, Clock: func() time.Time { return testNow.Add(31 * 24 * time.Hour) }})
	if err != nil || again.Settings().RetentionDays != 30 {
		t.Fatalf("settings after reload: %+v, %v", again.Settings(), err)
	}
	n, err := again.PurgeEvents(context.Background())
	if err != nil || n != 1 {
		t.Errorf("purge: %d, %v", n, err)
	}
	if evs, _ := db.EventsOf("+12015550123", "", time.Time{}); len(evs) != 0 {
		t.Errorf("%d events left after the purge", len(evs))
	}
}

func TestTestEvent(t *testing.T) {
	s, _, _ := newService(t)
	ev, err := s.TestEvent(context.Background(), "201-555-0199", "ana")
	if err != nil || ev.Type != TypeTest || ev.Source != SourceConsole || ev.Number != "+12015550199" {
		t.Fatalf("test event %+v, %v", ev, err)
	}
	if _, err := s.TestEvent(context.Background(), "", "ana"); err == nil {
		t.Error("a test event without a number was stored")
	}
	log, _ := s.Deliveries()
	if len(log) == 0 || log[0].Source != SourceConsole || len(log[0].Events) != 1 || log[0].Events[0] != ev.Seq {
		t.Errorf("hook log %+v", log)
	}
}
