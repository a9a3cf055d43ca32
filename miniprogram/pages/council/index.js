const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const share = require('../../utils/share')
const pageBehavior = require('../../utils/page-behavior')

// The council's work: residents' opinions waiting, motions in progress,
// notices sent, and the courtyard's WeChat group. Opened from a card in a
// group (a share ticket), the page offers to link that group to the
// courtyard, so that opens of notices shared there are counted.
Component({
  behaviors: [pageBehavior],
  data: { courtyard: 0, motions: [], notices: [], group: null, ticket: '', linked: '', newOpinions: 0 },
  methods: {
    onLoad(q) { this.setData({ courtyard: Number(q.courtyard), ticket: share.ticket(q) }) },
    onShow() { return this.reload() },
    reload() {
      return this.load(async () => {
        const [m, n, g, o] = await Promise.all([api.courtyardMotions(this.data.courtyard), api.courtyardNotices(this.data.courtyard),
          api.weChatGroup(this.data.courtyard).catch(() => null), api.courtyardOpinions(this.data.courtyard, 'received').catch(() => null)])
        return {
          newOpinions: o ? (o.opinions || []).length : 0,
          group: g ? { linked: g.linked, text: g.linked ? `已关联楼院微信群（${fmt.time(g.linked_at)}）` : '还没有关联楼院微信群' } : null,
          motions: (m.motions || []).filter(x => ['voting', 'objection', 'final'].includes(x.status))
            .map(x => ({ id: x.id, title: x.title, status: fmt.motionStatus(x.status), voting: x.status === 'voting' })),
          notices: (n.notices || []).filter(x => x.kind === 'notice').slice(0, 10)
            .map(x => ({ id: x.id, title: x.title, sent: x.status === 'sent', status: x.status === 'sent' ? '已发出' : '还没发出' })),
        }
      })
    },
    onWrite() { nav.go(`/pages/council/notice-new?courtyard=${this.data.courtyard}`) },
    onLink() {
      return this.act(async () => {
        const g = await share.linkGroup(this.data.courtyard, this.data.ticket)
        this.setData({
          linked: g.changed ? '✓ 已把这个群关联为本楼院的微信群。以后从这个群打开的通知都会计数。' : '✓ 这个群本来就是本楼院的微信群。',
          group: { linked: true, text: `已关联楼院微信群（${fmt.time(g.linked_at)}）` },
        })
      })
    },
    onGo(e) { nav.go(e.currentTarget.dataset.url) },
  },
})
