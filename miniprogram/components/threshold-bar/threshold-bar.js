const fmt = require('../../utils/format')
// One threshold of a rule (or one target of a petition) as a bar and in
// words. The server decides met / reachable / still needed; this only
// says it. The bar's length shows value/total; the words carry the meaning
// (never colour alone).
Component({
  properties: {
    title: { type: String, value: '' },
    progress: { type: Object, value: null }, // {rule, met, reachable, needed_households, needed_area}
    value: { type: String, value: '0' },
    total: { type: String, value: '0' },
    unit: { type: String, value: '户' },
    goal: { type: String, value: '达到' }, // what reaching it means, e.g. "通过"
  },
  observers: {
    'progress, value, total, unit, goal': function (p, value, total, unit, goal) {
      if (!p) { this.setData({ words: '', state: '', width: 0, ruleText: '' }); return }
      const ruleText = fmt.ruleWords(p.rule)
      let words, state
      if (p.withheld) {
        // a secret ballot still open: the server says only when it will tell
        this.setData({ words: p.summary, state: 'withheld', ruleText, width: 0, valueText: '' })
        return
      }
      if (p.met) { words = `✓ 已${goal}`; state = 'met' } else if (p.reachable === false) {
        words = `✗ 已无法${goal}`; state = 'lost'
      } else {
        const parts = []
        if (p.needed_households > 0) parts.push(`${p.needed_households} 户`)
        if (p.needed_area && Number(p.needed_area) > 0) parts.push(`${fmt.area(p.needed_area)} 平方米`)
        words = parts.length ? `还差 ${parts.join(' / ')} 才能${goal}` : `还没${goal}`
        state = 'short'
      }
      this.setData({
        words, state, ruleText,
        width: value === '' ? 0 : fmt.pct(value, total),
        valueText: value === '' ? '' : `${unit === '平方米' ? fmt.area(value) : value} / ${unit === '平方米' ? fmt.area(total) : total} ${unit}`,
      })
    },
  },
  data: { words: '', state: '', width: 0, ruleText: '', valueText: '' },
})
