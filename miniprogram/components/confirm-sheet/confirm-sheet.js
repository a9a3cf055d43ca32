// The confirmation step before anything binding (a vote, a signature, a
// delegation, a pledge): restates what is about to happen in words, with a
// big "confirm" and an equally big "go back and change".
Component({
  properties: {
    show: { type: Boolean, value: false },
    title: { type: String, value: '请您确认' },
    lines: { type: Array, value: [] },
    confirmText: { type: String, value: '确认' },
    cancelText: { type: String, value: '返回修改' },
    busy: { type: Boolean, value: false },
  },
  methods: {
    onConfirm() { if (!this.data.busy) this.triggerEvent('confirm') },
    onCancel() { this.triggerEvent('cancel') },
    noop() {},
  },
})
