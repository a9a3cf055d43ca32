const { wxp } = require('../../utils/wxp')
// A handwritten signature on a <canvas type="2d">, exported as a PNG file.
// Emits "change" with {signed} whenever it goes from empty to drawn or back.
Component({
  data: { signed: false },
  lifetimes: {
    ready() { this.initCanvas() },
  },
  methods: {
    initCanvas() {
      let q
      try { q = this.createSelectorQuery() } catch (e) { return }
      if (!q || !q.select) return
      q.select('#pad').fields({ node: true, size: true }).exec(res => {
        const r = res && res[0]
        if (!r || !r.node) return
        this.attach(r.node, r.width, r.height)
      })
    },
    attach(canvas, width, height) {
      let dpr = 2
      try { dpr = (wx.getWindowInfo ? wx.getWindowInfo() : wx.getSystemInfoSync()).pixelRatio || 2 } catch (e) { /* keep 2 */ }
      canvas.width = width * dpr
      canvas.height = height * dpr
      const ctx = canvas.getContext('2d')
      ctx.scale(dpr, dpr)
      ctx.fillStyle = '#ffffff'
      ctx.fillRect(0, 0, width, height)
      ctx.lineWidth = 5
      ctx.lineCap = 'round'
      ctx.lineJoin = 'round'
      ctx.strokeStyle = '#000000'
      this.canvas = canvas
      this.ctx = ctx
      this.size = { width, height }
    },
    onStart(e) {
      const t = e.touches && e.touches[0]
      if (!t) return
      this.last = { x: t.x, y: t.y }
      if (this.ctx) { this.ctx.beginPath(); this.ctx.moveTo(t.x, t.y) }
    },
    onMove(e) {
      const t = e.touches && e.touches[0]
      if (!t || !this.last) return
      if (this.ctx) { this.ctx.lineTo(t.x, t.y); this.ctx.stroke() }
      this.last = { x: t.x, y: t.y }
      if (!this.data.signed) {
        this.setData({ signed: true })
        this.triggerEvent('change', { signed: true })
      }
    },
    onEnd() { this.last = null },
    onClear() {
      if (this.ctx) {
        this.ctx.fillStyle = '#ffffff'
        this.ctx.fillRect(0, 0, this.size.width, this.size.height)
      }
      this.setData({ signed: false })
      this.triggerEvent('change', { signed: false })
    },
    // Resolves to a temp file path of the PNG.
    toFile() {
      return wxp('canvasToTempFilePath', { canvas: this.canvas, fileType: 'png' }).then(r => r.tempFilePath)
    },
  },
})
