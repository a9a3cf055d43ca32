const api = require('../../utils/api')
const nav = require('../../utils/nav')
const share = require('../../utils/share')
const pageBehavior = require('../../utils/page-behavior')

// Writing a notice to the whole courtyard: the server checks the text with
// WeChat content security (the result is shown), then it is sent.
const CHECK = { pass: '✓ 内容检查通过', review: '内容需要社区人工审核，审核通过后才会发出', risky: '✗ 内容没有通过检查，请修改' }

Component({
  behaviors: [pageBehavior],
  data: { loading: false, courtyard: 0, title: '', body: '', confirm: false, lines: [], result: null },
  methods: {
    onLoad(q) { this.setData({ courtyard: Number(q.courtyard) }); share.enableTicket() },
    onTitle(e) { this.setData({ title: (e.detail.value || '').trim() }) },
    onBody(e) { this.setData({ body: e.detail.value || '' }) },
    targets() { return [{ scope_type: 'courtyard', scope_id: this.data.courtyard }] },
    onNext() {
      if (this.data.title.length < 2 || !this.data.body.trim()) return undefined
      return this.act(async () => {
        const p = await api.previewNotice(this.targets())
        this.setData({ confirm: true, lines: [`标题：${this.data.title}`, `发给：全院 ${p.recipients} 人`, '发出后不能撤回。'] })
      })
    },
    onCancel() { this.setData({ confirm: false }) },
    onConfirm() {
      return this.act(async () => {
        const n = await api.createNotice({ targets: this.targets(), title: this.data.title, body: this.data.body })
        let sent = null
        if (n.check_result === 'pass' && n.status === 'draft') sent = await api.sendNotice(n.id)
        this.setData({
          confirm: false,
          result: { id: n.id, check: CHECK[n.check_result] || `内容检查：${n.check_result}`, sent: !!sent, recipients: sent ? sent.recipients : 0 },
        })
      })
    },
    onReport() { nav.go(`/pages/council/notice-report?id=${this.data.result.id}`) },
    onShareAppMessage() {
      const r = this.data.result
      return { title: this.data.title || '楼院通知', path: r ? `/pages/notice/detail?id=${r.id}` : '/pages/index/index' }
    },
  },
})
