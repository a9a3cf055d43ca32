const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const pageBehavior = require('../../utils/page-behavior')

const COUNTED = ['objection', 'closed', 'final']

// An election: its candidates with their statements (the server lists the
// published eligible ones, and to a candidate also their own standing —
// findings are never sent to others), nominating while nominations are
// open, the ballot (a motion of rule "election") and the result as the
// server counts it: the elected, or a tie at the last seat that decides
// nothing and needs another ballot.
Component({
  behaviors: [pageBehavior],
  data: { id: 0, el: null, candidates: [], own: null, result: null },
  methods: {
    onLoad(q) { this.setData({ id: Number(q.id) }) },
    onShow() { return this.reload() },
    reload() {
      return this.load(async () => {
        const [v, me] = await Promise.all([api.election(this.data.id), api.me()])
        const e = v.election
        // the server sends a candidate's eligibility only to that candidate (and staff)
        const mine = v.candidates.find(c => me.kind === 'user' && c.user_id === me.id && c.eligibility)
        const r = v.result
        return {
          el: Object.assign({}, e, {
            statusText: fmt.electionStatus(e.status), nominating: e.status === 'nominating',
            term: `${e.term_starts_on} 至 ${e.term_ends_on}`, voting: !!(r && r.motion_status === 'voting'),
          }),
          // a candidate's own entry shows only once found eligible (like everyone's)
          candidates: v.candidates.filter(c => c !== mine || c.eligibility === 'eligible').map(c => ({
            id: c.id, name: c.name, statement: c.statement, source: fmt.source(c.source),
          })),
          own: mine ? { standing: fmt.eligibility(mine.eligibility), ok: mine.eligibility === 'eligible' } : null,
          result: r && COUNTED.includes(r.motion_status) ? {
            objection: r.motion_status === 'objection',
            elected: (r.elected || []).map(c => c.name).join('、'),
            tie: (r.tie_at_last_seat || []).map(c => c.name).join('、'),
            runOff: r.run_off_needed, short: !r.participation_met, seats: e.seats,
          } : null,
        }
      })
    },
    onNominate() { nav.go(`/pages/election/nominate?id=${this.data.id}`) },
    onVote() { nav.go(`/pages/motion/detail?id=${this.data.el.motion_id}`) },
  },
})
