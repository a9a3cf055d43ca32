const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const subscribe = require('../../utils/subscribe')
const pageBehavior = require('../../utils/page-behavior')

Component({
  behaviors: [pageBehavior],
  data: { notices: [], unread: 0 },
  methods: {
    onLoad() {},
    onShow() { return this.reload() },
    reload() {
      return this.load(async () => {
        const r = await api.myNotices()
        return {
          unread: r.unread || 0,
          notices: (r.notices || []).map(x => ({
            id: x.notice.id, title: x.notice.title, unread: !x.read_at, at: fmt.time(x.notice.sent_at || x.notice.created_at),
          })),
        }
      })
    },
    onOpen(e) { nav.go(`/pages/notice/detail?id=${e.currentTarget.dataset.id}`) },
    // the subscribe prompt must come from this tap
    onRemind() {
      return subscribe.ask(['notice']).then(r => {
        if (r) wx.showToast({ title: '好的，有新通知会提醒您', icon: 'none' })
      })
    },
  },
})
