const api = require('../../utils/api')
const fmt = require('../../utils/format')
const pageBehavior = require('../../utils/page-behavior')

// The receipt of a counted ballot and its check: anyone holding the code
// can see that the ballot is in the tally.
Component({
  behaviors: [pageBehavior],
  data: { loading: false, code: '', input: '', check: null, fresh: false },
  methods: {
    onLoad(q) {
      const code = (q && q.code) || ''
      this.setData({ code, input: code, fresh: !!code })
    },
    onInput(e) { this.setData({ input: (e.detail.value || '').toUpperCase().trim(), check: null }) },
    onCheck() {
      if (!this.data.input) return undefined
      return this.act(async () => {
        const r = await api.checkReceipt(this.data.input)
        this.setData({
          check: {
            motion: r.motion, counted: r.counted, replaced: r.replaced,
            channel: fmt.channel(r.channel), at: fmt.time(r.cast_at),
            options: (r.options || []).map(k => ({ agree: '同意', oppose: '反对', abstain: '弃权' }[k] || k)).join('、'),
          },
        })
      })
    },
    onCopy() { wx.setClipboardData({ data: this.data.code }) },
  },
})
