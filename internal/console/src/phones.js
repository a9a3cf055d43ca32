// Full-phone exports: offered only where the server says this staff member
// may have them (/me capabilities.full_phone_communities, from the
// phone_viewer role); the server checks again on every download.
import * as api from './api.js'
import { courtyards } from './state.js'

/** fullPhonesAllowed tells whether to offer full phone numbers in a courtyard's exports. */
export function fullPhonesAllowed(courtyardId) {
  const c = courtyards.value.find((y) => y.id === courtyardId)
  return !!c && api.capabilities().full_phone_communities.includes(c.community_id)
}
