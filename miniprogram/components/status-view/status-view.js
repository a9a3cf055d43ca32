// What a page shows instead of its content while loading or after a failed
// load: never a blank screen.
Component({
  properties: {
    loading: { type: Boolean, value: false },
    error: { type: String, value: '' },
  },
  methods: {
    onRetry() { this.triggerEvent('retry') },
  },
})
