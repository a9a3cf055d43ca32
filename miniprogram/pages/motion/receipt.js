const api = require('../../utils/api')
const fmt = require('../../utils/format')
const pageBehavior = require('../../utils/page-behavior')

const WORDS = { agree: '同意', oppose: '反对', abstain: '弃权' }

// The receipt of a counted ballot and its check: anyone holding the code
// can see that the ballot is in the tally.
Component({
  behaviors: [pageBehavior],
  data: { loading: false, code: '', input: '', check: null, fresh: false, chosen: '' },
  methods: {
    onLoad(q) {
      const code = (q && q.code) || ''
      // an election's ballot names the chosen candidates (from the vote page)
      this.setData({ code, input: code, fresh: !!code, chosen: q && q.chosen ? decodeURIComponent(q.chosen) : '' })
    },
    onInput(e) { this.setData({ input: (e.detail.value || '').toUpperCase().trim(), check: null }) },
    onCheck() {
      if (!this.data.input) return undefined
      return this.act(async () => {
        const r = await api.checkReceipt(this.data.input)
        // candidates' option keys read as their names (the motion's options)
        const m = r.motion_id && (r.options || []).some(k => !WORDS[k]) ? await api.motion(r.motion_id).catch(() => null) : null
        const label = k => { const o = m && (m.motion.options || []).find(x => x.key === k); return WORDS[k] || (o ? o.label : k) }
        this.setData({
          check: {
            motion: r.motion, counted: r.counted, replaced: r.replaced,
            channel: fmt.channel(r.channel), at: fmt.time(r.cast_at),
            options: (r.options || []).map(label).join('、'),
          },
        })
      })
    },
    onCopy() { wx.setClipboardData({ data: this.data.code }) },
  },
})
