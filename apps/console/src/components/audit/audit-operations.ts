import { graphql, type ResultOf } from '@/graphql';

/** Everything a row and its expanded detail show; shared by the list query and the live stream. */
export const AuditRow_Entry = graphql(`
  fragment AuditRow_Entry on AuditEntry {
    id
    timestamp
    agentId
    agentName
    memberId
    memberName
    memberKeyId
    sessionId
    service
    tool
    action
    resource
    callerIp
    toolArgs
    decision
    reason
    matchedPolicyIds
    matchedPolicyNames
    matchedPolicies {
      id
      key
      name
      version
      effect
    }
    policyId
    durationMs
    principal
    upstreamStatus
    upstreamError
  }
`);

export type AuditEntry = ResultOf<typeof AuditRow_Entry>;

export const AuditList_Entries = graphql(
  `
    query AuditList_Entries($filter: AuditFilter, $first: Int, $after: String) {
      auditEntries(filter: $filter, first: $first, after: $after) {
        edges {
          cursor
          node {
            ...AuditRow_Entry
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  `,
  [AuditRow_Entry],
);

export const AuditList_EntryAdded = graphql(
  `
    subscription AuditList_EntryAdded($filter: AuditFilter, $after: String) {
      auditEntryAdded(filter: $filter, after: $after) {
        cursor
        node {
          ...AuditRow_Entry
        }
      }
    }
  `,
  [AuditRow_Entry],
);

export type AuditEdge = ResultOf<typeof AuditList_EntryAdded>['auditEntryAdded'];

/** Rows shown before their outcome was recorded, asked again by id (see useAuditFeed). */
export const AuditList_Refresh = graphql(
  `
    query AuditList_Refresh($ids: [ID!]!) {
      auditEntriesByIds(ids: $ids) {
        ...AuditRow_Entry
      }
    }
  `,
  [AuditRow_Entry],
);
