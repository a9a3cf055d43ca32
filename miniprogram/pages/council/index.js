const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const pageBehavior = require('../../utils/page-behavior')

Component({
  behaviors: [pageBehavior],
  data: { courtyard: 0, motions: [], notices: [] },
  methods: {
    onLoad(q) { this.setData({ courtyard: Number(q.courtyard) }) },
    onShow() { return this.reload() },
    reload() {
      return this.load(async () => {
        const [m, n] = await Promise.all([api.courtyardMotions(this.data.courtyard), api.courtyardNotices(this.data.courtyard)])
        return {
          motions: (m.motions || []).filter(x => ['voting', 'objection', 'final'].includes(x.status))
            .map(x => ({ id: x.id, title: x.title, status: fmt.motionStatus(x.status), voting: x.status === 'voting' })),
          notices: (n.notices || []).filter(x => x.kind === 'notice').slice(0, 10)
            .map(x => ({ id: x.id, title: x.title, sent: x.status === 'sent', status: x.status === 'sent' ? '已发出' : '还没发出' })),
        }
      })
    },
    onWrite() { nav.go(`/pages/council/notice-new?courtyard=${this.data.courtyard}`) },
    onGo(e) { nav.go(e.currentTarget.dataset.url) },
  },
})
