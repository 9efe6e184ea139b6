package server

import (
	"fmt"
	"strings"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/server/grpcapi"
)

// The demo's tour: what `candor serve --demo` prints, commands to copy and
// paste against the demo data (app.SeedDemo) with the demo API keys
// (grpcapi.DemoAPIKeys).

// Tour returns copy-pasteable commands that show candor at work on the demo
// data, with the demo API keys.
func Tour(d *app.Demo, grpcAddr, httpAddr string) string {
	base := "http://" + httpAddr
	sf := "Authorization: Bearer " + grpcapi.DemoKey(app.RoleStorefront)
	var b strings.Builder
	fmt.Fprintf(&b, `
candor demo is running: %d items, %d customers, %d signals (synthetic, in memory).
REST on %s, gRPC on %s. API keys: demo-<role>-key, e.g. %s.

1. alice consented to personalisation. Her answer is personalised, and each
   item says which of her signals moved it and by how much:

  curl -s -H '%s' '%s/v1/customers/alice/recommendations?surface=storefront&limit=3&pretty'

2. alice revokes personalisation (recorded in her consent ledger):

  curl -s -X PATCH -H '%s' -d '{"choices":[{"purpose":"personalization","granted":false}],"notice_version":"2026-10","method":"ui"}' '%s/v1/customers/alice/consents?pretty'

3. The very next answer is not personalised and says why:

  curl -s -H '%s' '%s/v1/customers/alice/recommendations?surface=storefront&limit=3&pretty'

4. bob never consented; his answer is not based on personal data:

  curl -s -H '%s' '%s/v1/customers/bob/recommendations?limit=3&pretty'

5. alice's consent ledger, and the same over gRPC (grpcurl):

  curl -s -H '%s' '%s/v1/customers/alice/consents/history?pretty'
  grpcurl -plaintext -H '%s' -d '{"customer_id":"alice","surface":"storefront","limit":3}' %s candor.v1.RecommendationService/GetRecommendations

6. alice's "why am I seeing this" page, as she sees it, and her privacy
   center (see, correct, download or delete her data; choose per purpose).
   The links hold a customer token valid for an hour:

  %s
  %s

7. Give consent back:

  curl -s -X PATCH -H '%s' -d '{"choices":[{"purpose":"personalization","granted":true}],"notice_version":"2026-10","method":"ui"}' '%s/v1/customers/alice/consents?pretty'

Stop with Ctrl-C.
`, d.Items, d.Customers, d.Signals, base, grpcAddr, grpcapi.DemoKey(app.RoleStorefront),
		sf, base, sf, base, sf, base, sf, base, sf, base,
		strings.ToLower(sf[:1])+sf[1:], grpcAddr, base+d.WhyPath, base+d.PrivacyPath, sf, base)
	return b.String()
}
