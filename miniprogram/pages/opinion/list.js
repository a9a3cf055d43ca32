const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const pageBehavior = require('../../utils/page-behavior')

// 大家议: the opinions I raised, and the courtyard's public ones. What a
// resident may see is the server's answer (public ones and their own).
Component({
  behaviors: [pageBehavior],
  data: { courtyard: 0, tab: 'mine', mine: [], court: [], bound: true },
  methods: {
    onLoad(q) { this.setData({ courtyard: Number(q.courtyard) || 0, tab: q.tab === 'court' ? 'court' : 'mine' }) },
    onShow() { return this.reload() },
    reload() {
      return this.load(async () => {
        const hh = await api.myHouseholds()
        const yard = this.data.courtyard || ((hh.households || [])[0] || {}).courtyard_id || 0
        if (!yard) return { bound: false }
        const [mine, court] = await Promise.all([api.myOpinions(), api.courtyardOpinions(yard)])
        return {
          bound: true, courtyard: yard,
          mine: (mine.opinions || []).filter(o => o.courtyard_id === yard).map(item),
          court: (court.opinions || []).filter(o => o.public).map(item),
        }
      })
    },
    onTab(e) { this.setData({ tab: e.currentTarget.dataset.tab }) },
    onNew() { nav.go(`/pages/opinion/new?courtyard=${this.data.courtyard}`) },
    onOpen(e) { nav.go(`/pages/opinion/detail?id=${e.currentTarget.dataset.id}`) },
    onBind() { nav.go('/pages/bind/bind') },
  },
})

function item(o) {
  return {
    id: o.id, text: fmt.clip(o.body, 40), category: fmt.category(o.category), status: fmt.opinionStatus(o.status),
    done: o.status === 'resolved', when: fmt.time(o.created_at), who: o.public ? '公开' : '只给理事会看',
  }
}
