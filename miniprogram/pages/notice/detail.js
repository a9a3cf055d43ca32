const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const share = require('../../utils/share')
const pageBehavior = require('../../utils/page-behavior')

// A notice: text and images; opening it sends the read receipt. A council
// member also sees how many received it and can share it into the
// courtyard's WeChat group (a card with a share ticket). Opened from a card
// in a group, the page tells the server, which counts the open when that
// group is the courtyard's (utils/share.js); the count never gets in the
// way of reading.
Component({
  behaviors: [pageBehavior],
  data: { id: 0, notice: null, images: [], readNow: false },
  methods: {
    onLoad(q) {
      this.setData({ id: Number(q.id) })
      share.enableTicket()
      const counted = share.countOpen(this.data.id, share.ticket(q))
      return Promise.all([this.reload(), counted])
    },
    reload() {
      return this.load(async () => {
        const n = await api.notice(this.data.id)
        let readNow = false
        if (n.recipients === undefined && !n.read_at) {
          await api.markRead(this.data.id)
          readNow = true
        }
        const images = []
        for (const key of n.images || []) {
          try { images.push(await api.noticeImage(this.data.id, key)) } catch (e) { /* shown as missing below */ }
        }
        return {
          notice: Object.assign({}, n, { at: fmt.time(n.sent_at || n.created_at), missing: (n.images || []).length - images.length }),
          images, readNow,
        }
      })
    },
    onPreview(e) { wx.previewImage && wx.previewImage({ urls: this.data.images, current: e.currentTarget.dataset.src }) },
    onReport() { nav.go(`/pages/council/notice-report?id=${this.data.id}`) },
    onShareAppMessage() {
      return { title: this.data.notice ? this.data.notice.title : '楼院通知', path: `/pages/notice/detail?id=${this.data.id}` }
    },
  },
})
