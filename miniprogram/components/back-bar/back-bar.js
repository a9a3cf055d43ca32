const nav = require('../../utils/nav')
// A large, worded way back on every screen (the navigation bar's arrow is
// small and many older users do not recognise it).
Component({
  properties: { home: { type: Boolean, value: true } },
  methods: {
    onBack() { nav.back() },
    onHome() { nav.home() },
  },
})
