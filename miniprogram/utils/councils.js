// The councils serving the courtyards of my households (a resident reaches
// surveys and elections through them).
const api = require('./api')

async function myCouncils() {
  const hh = await api.myHouseholds()
  const yards = [...new Set((hh.households || []).map(h => h.courtyard_id))]
  const lists = await Promise.all(yards.map(y => api.courtyardCouncils(y)))
  const seen = {}
  const out = []
  lists.forEach(l => (l.councils || []).forEach(c => { if (!seen[c.id]) { seen[c.id] = true; out.push(c) } }))
  return { households: hh.households || [], councils: out }
}

module.exports = { myCouncils }
