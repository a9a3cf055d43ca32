// Shared by every page: a loading state and an error state, so that a page
// is never blank — it shows "正在加载", the server's message with a retry
// button, or its content.
const api = require('./api')

module.exports = Behavior({
  data: { loading: true, error: '', busy: false },
  methods: {
    // Loads the page's data. fn returns the data to set.
    async load(fn) {
      this.setData({ loading: true, error: '' })
      try {
        const data = await fn()
        this.setData(Object.assign({ loading: false }, data || {}))
        return true
      } catch (e) {
        this.setData({ loading: false, error: messageOf(e) })
        return false
      }
    },
    // Runs an action the person asked for (a tap). The server's message is
    // shown as is in a dialog that must be acknowledged.
    async act(fn) {
      if (this.data.busy) return undefined
      this.setData({ busy: true })
      try {
        return await fn()
      } catch (e) {
        wx.showModal({ title: '没有办成', content: messageOf(e), showCancel: false, confirmText: '知道了' })
        return undefined
      } finally {
        this.setData({ busy: false })
      }
    },
    onRetry() { if (typeof this.reload === 'function') this.reload() },
  },
})

function messageOf(e) {
  if (e instanceof api.ApiError || (e && e.name === 'ApiError')) return e.message
  return '出了点问题，请稍后再试。'
}
