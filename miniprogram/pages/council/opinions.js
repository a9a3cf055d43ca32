const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const pageBehavior = require('../../utils/page-behavior')

const TABS = [{ key: 'received', label: '新收到' }, { key: 'in_progress', label: '处理中' }, { key: 'resolved', label: '已解决' }]

// The council's inbox of opinions (大家议), by status, all of the
// courtyard's (private ones included: the server gives the council all).
Component({
  behaviors: [pageBehavior],
  data: { courtyard: 0, tabs: TABS, tab: 'received', items: [] },
  methods: {
    onLoad(q) { this.setData({ courtyard: Number(q.courtyard), tab: q.status || 'received' }) },
    onShow() { return this.reload() },
    reload() {
      return this.load(async () => {
        const r = await api.courtyardOpinions(this.data.courtyard, this.data.tab)
        return {
          items: (r.opinions || []).map(o => ({
            id: o.id, category: fmt.category(o.category), text: fmt.clip(o.body, 40), when: fmt.time(o.created_at),
            who: o.public ? '公开' : '只给理事会看', assigned: o.assignee_id ? '已交办' : '还没交办',
            rating: o.rating ? `评分 ${o.rating} 分` : '', reopened: o.reopened ? '重新打开过' : '',
          })),
        }
      })
    },
    onTab(e) { this.setData({ tab: e.currentTarget.dataset.tab }); return this.reload() },
    onOpen(e) { nav.go(`/pages/opinion/detail?id=${e.currentTarget.dataset.id}`) },
  },
})
