const api = require('../../utils/api')
const fmt = require('../../utils/format')
const pageBehavior = require('../../utils/page-behavior')

const STATE = { pending: '等待发送', sending: '正在发送', retried: '稍后重发', sent: '微信提醒已送达', skipped: '没开微信提醒，只在小程序里能看到', refused: '对方拒收微信提醒', failed: '微信提醒没发出' }

Component({
  behaviors: [pageBehavior],
  methods: {
    onLoad(q) { this.setData({ id: Number(q.id) }); return this.reload() },
    reload() {
      return this.load(async () => {
        const r = await api.noticeReport(this.data.id)
        return {
          report: r,
          readers: (r.readers || []).map(x => ({ key: x.user_id, text: `${x.household ? x.household + ' ' : ''}${x.name || '住户'}`, at: fmt.time(x.read_at) })),
          failures: (r.failures || []).map(x => ({ key: x.user_id, text: `${x.household || '住户 ' + x.user_id}：${STATE[x.state] || x.state}` })),
        }
      })
    },
  },
})
