package domain

// The 1 January 2027 campaign's view: where each parcours of the "stock"
// (accompanied on 1 January 2025) stands against its contract deadline
// (BasisStock). These are the labels and sources the pages, the CSV, the
// API documentation and the digests share.

// CampaignStatuses are the statuses of a stock deadline the campaign
// counts, in the order the pages show them.
var CampaignStatuses = []DeadlineStatus{DeadlinePending, DeadlineOverdue, DeadlineMet}

// CampaignStatusFr is the campaign's French word for a stock deadline's
// status: « à signer », « signé », « en retard ».
func CampaignStatusFr(s DeadlineStatus) string {
	switch s {
	case DeadlinePending:
		return "à signer"
	case DeadlineMet:
		return "signé"
	case DeadlineOverdue:
		return "en retard"
	}
	return "autre"
}

// CampaignRule is the rule of a stock rule set, as the campaign page cites it.
type CampaignRule struct {
	RuleSet string
	DueOn   Date
	Due     string // the due date in words
	Text    string // the rule in French
	Source  string // the legal source
}

// CampaignRules are the two stock rule sets: metropolitan France, and the
// départements overseas (one year later).
var CampaignRules = []CampaignRule{
	{RuleSet: StockRuleSet, DueOn: NewDate(2027, 1, 1), Due: "1er janvier 2027",
		Text:   "Les personnes accompagnées au 1er janvier 2025 doivent avoir signé un contrat conforme à la loi pour le plein emploi (signé depuis le 1er janvier 2025) au plus tard le 1er janvier 2027 (le 1er janvier 2028 dans les départements d'outre-mer).",
		Source: "loi n° 2023-1196 du 18 décembre 2023 pour le plein emploi ; décret n° 2024-1244 ; décret n° 2025-816"},
	{RuleSet: StockRuleSetOverseas, DueOn: NewDate(2028, 1, 1), Due: "1er janvier 2028 (outre-mer)",
		Text:   "Outre-mer : les personnes accompagnées au 1er janvier 2025 doivent avoir signé un contrat conforme à la loi pour le plein emploi au plus tard le 1er janvier 2028.",
		Source: "loi n° 2023-1196 du 18 décembre 2023 pour le plein emploi ; décret n° 2024-1244 ; décret n° 2025-816 (outre-mer : 1er janvier 2028)"},
}

// CampaignRuleOf is the rule of a stock rule set; the metropolitan one
// when the set is unknown.
func CampaignRuleOf(ruleSet string) CampaignRule {
	for _, r := range CampaignRules {
		if r.RuleSet == ruleSet {
			return r
		}
	}
	return CampaignRules[0]
}
