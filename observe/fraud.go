package observe

import (
	"net/http"

	"millrace/redact"
	"millrace/tally"
)

// fraudHandler serves /api/fraud, in a pipeline with a rules step: its alerts per minute of
// event time by rule and by scenario, the latest alerts, and the running measures of every
// rule and the model against the label (see tally.View). Card numbers and the columns the
// sources' redact lists name are masked in the latest alerts.
type fraudHandler struct {
	board  *tally.Board
	redact redactions
}

func (h fraudHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	v := h.board.View()
	for i := range v.Latest {
		a := &v.Latest[i]
		a.Card, a.TxID, a.Amount = h.mask(tally.CardColumn, a.Card), h.mask(tally.TxColumn, a.TxID), h.mask(tally.AmountColumn, a.Amount)
	}
	writeJSON(w, v)
}

// mask is the value of column col as the API shows it.
func (h fraudHandler) mask(col, value string) string {
	if value != "" && h.redact.all.Names(col) {
		return redact.Mask
	}
	return redact.Cards(value)
}
