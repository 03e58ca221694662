/**
 * Every GraphQL operation the connector and its test tools send to OpenCTI.
 * Each text is valid against the 6.8 and 6.9 schemas: none requests a field
 * added after 6.8, such as `ConnectorConfig.s3` (6.9). The operation names
 * follow pycti's, so platform logs read the same for both connectors.
 */

/** Platform version; the health check that pycti runs at start-up. */
export const ABOUT = `query healthCheck {
  about {
    version
  }
}`;

/** The user that owns the token, with its capabilities. */
export const ME = `query Me {
  me {
    id
    name
    user_email
    capabilities {
      name
    }
  }
}`;

/** Creates or updates the connector and returns its queues and state. */
export const REGISTER_CONNECTOR =
  `mutation RegisterConnector($input: RegisterConnectorInput) {
  registerConnector(input: $input) {
    id
    connector_state
    config {
      connection {
        host
        vhost
        use_ssl
        port
        user
        pass
      }
      listen
      listen_routing
      listen_exchange
      push
      push_routing
      push_exchange
    }
    connector_user_id
  }
}`;

/**
 * Liveness signal and the only way to save the state. `state` is always a
 * JSON string, `"null"` when there is none.
 */
export const PING_CONNECTOR =
  `mutation PingConnector($id: ID!, $state: String, $connectorInfo: ConnectorInfoInput) {
  pingConnector(id: $id, state: $state, connectorInfo: $connectorInfo) {
    id
    connector_state
    connector_info {
      run_and_terminate
      buffering
      queue_threshold
      queue_messages_size
      next_run_datetime
      last_run_datetime
    }
  }
}`;

/** The connector with the size of its push queue (for buffering). */
export const GET_CONNECTOR = `query GetConnector($id: String!) {
  connector(id: $id) {
    id
    name
    active
    connector_state
    connector_queue_details {
      messages_number
      messages_size
    }
    updated_at
  }
}`;

/** Opens a work in status `progress` and returns its id. */
export const WORK_ADD =
  `mutation workAdd($connectorId: String!, $friendlyName: String) {
  workAdd(connectorId: $connectorId, friendlyName: $friendlyName) {
    id
  }
}`;

/** Adds to the number of messages the work expects before it completes. */
export const ADD_EXPECTATIONS =
  `mutation addExpectations($id: ID!, $expectations: Int) {
  workEdit(id: $id) {
    addExpectations(expectations: $expectations)
  }
}`;

/** Ends the connector's part of a work with a message (or an error). */
export const WORK_TO_PROCESSED =
  `mutation workToProcessed($id: ID!, $message: String, $inError: Boolean) {
  workEdit(id: $id) {
    toProcessed(message: $message, inError: $inError)
  }
}`;

/** Counts one imported message; the worker sends it, not the connector. */
export const REPORT_EXPECTATION =
  `mutation reportExpectation($id: ID!, $error: WorkErrorInput) {
  workEdit(id: $id) {
    reportExpectation(error: $error)
  }
}`;

/** Deletes a work; workers then drop the messages that carry its id. */
export const DELETE_WORK = `mutation ConnectorWorksMutation($workId: ID!) {
  workEdit(id: $workId) {
    delete
  }
}`;

/** Whether workers still accept messages for a work. */
export const IS_WORK_ALIVE = `query WorkAliveQuery($id: ID!) {
  isWorkAlive(id: $id)
}`;

/** A work with its progress counters and messages. */
export const GET_WORK = `query WorkQuery($id: ID!) {
  work(id: $id) {
    id
    name
    status
    received_time
    processed_time
    completed_time
    tracking {
      import_expected_number
      import_processed_number
    }
    messages {
      timestamp
      message
    }
    errors {
      timestamp
      message
      source
    }
  }
}`;

/** Sends a whole bundle over HTTP; the platform queues it for its workers. */
export const STIX_BUNDLE_PUSH =
  `mutation StixBundlePush($connectorId: String!, $bundle: String!, $work_id: String) {
  stixBundlePush(connectorId: $connectorId, bundle: $bundle, work_id: $work_id)
}`;

/**
 * External references by filters, such as `source_name` and `external_id`.
 * The withdrawal handler finds a threat's reports through them.
 */
export const LIST_EXTERNAL_REFERENCES =
  `query ExternalReferences($first: Int, $after: ID, $filters: FilterGroup) {
  externalReferences(first: $first, after: $after, filters: $filters) {
    edges {
      node {
        id
        source_name
        external_id
        url
      }
    }
    pageInfo {
      endCursor
      hasNextPage
    }
  }
}`;

/** Reports by filters, with the ids, author and labels a withdrawal reads. */
export const LIST_REPORTS =
  `query Reports($first: Int, $after: ID, $filters: FilterGroup) {
  reports(first: $first, after: $after, filters: $filters) {
    edges {
      node {
        id
        standard_id
        x_opencti_stix_ids
        name
        published
        createdBy {
          id
          standard_id
          x_opencti_stix_ids
        }
        objectLabel {
          id
          value
        }
      }
    }
    pageInfo {
      endCursor
      hasNextPage
    }
  }
}`;

/**
 * A report's indicators, each with the reports that contain it (up to
 * `$reportsFirst`), so the caller can tell whether another report still
 * supports it.
 */
export const LIST_REPORT_INDICATORS =
  `query ReportIndicators($id: String, $first: Int, $after: ID, $reportsFirst: Int) {
  report(id: $id) {
    id
    objects(first: $first, after: $after, types: ["Indicator"]) {
      edges {
        node {
          ... on Indicator {
            id
            standard_id
            x_opencti_stix_ids
            revoked
            createdBy {
              id
              standard_id
              x_opencti_stix_ids
            }
            objectLabel {
              id
              value
            }
            reports(first: $reportsFirst) {
              edges {
                node {
                  id
                  createdBy {
                    id
                    standard_id
                    x_opencti_stix_ids
                  }
                  objectLabel {
                    id
                    value
                  }
                }
              }
              pageInfo {
                hasNextPage
              }
            }
          }
        }
      }
      pageInfo {
        endCursor
        hasNextPage
      }
    }
  }
}`;

/** Indicators by filters, with their revocation, author and labels. */
export const LIST_INDICATORS =
  `query Indicators($first: Int, $after: ID, $filters: FilterGroup) {
  indicators(first: $first, after: $after, filters: $filters) {
    edges {
      node {
        id
        standard_id
        x_opencti_stix_ids
        revoked
        createdBy {
          id
          standard_id
          x_opencti_stix_ids
        }
        objectLabel {
          id
          value
        }
      }
    }
    pageInfo {
      endCursor
      hasNextPage
    }
  }
}`;

/** Labels by filters. pycti finds a label by its `value` with this query. */
export const LIST_LABELS =
  `query Labels($first: Int, $after: ID, $filters: FilterGroup) {
  labels(first: $first, after: $after, filters: $filters) {
    edges {
      node {
        id
        value
      }
    }
  }
}`;

/** Creates a label. */
export const LABEL_ADD = `mutation LabelAdd($input: LabelAddInput!) {
  labelAdd(input: $input) {
    id
    value
  }
}`;

/** Adds a reference to an object, such as an `object-label` to a label. */
export const STIX_DOMAIN_OBJECT_ADD_RELATION =
  `mutation StixDomainObjectAddRelation($id: ID!, $input: StixRefRelationshipAddInput!) {
  stixDomainObjectEdit(id: $id) {
    relationAdd(input: $input) {
      id
    }
  }
}`;

/** Removes a reference from an object, such as one of its labels. */
export const STIX_DOMAIN_OBJECT_REMOVE_RELATION =
  `mutation StixDomainObjectRemoveRelation($id: ID!, $toId: StixRef!, $relationship_type: String!) {
  stixDomainObjectEdit(id: $id) {
    relationDelete(toId: $toId, relationship_type: $relationship_type) {
      id
    }
  }
}`;

/** Sets attributes of a domain object, such as an indicator's `revoked`. */
export const STIX_DOMAIN_OBJECT_FIELD_PATCH =
  `mutation StixDomainObjectEdit($id: ID!, $input: [EditInput]!) {
  stixDomainObjectEdit(id: $id) {
    fieldPatch(input: $input) {
      id
    }
  }
}`;

/** Every operation above by its GraphQL operation name. */
export const OPERATIONS: Readonly<Record<string, string>> = {
  healthCheck: ABOUT,
  Me: ME,
  RegisterConnector: REGISTER_CONNECTOR,
  PingConnector: PING_CONNECTOR,
  GetConnector: GET_CONNECTOR,
  workAdd: WORK_ADD,
  addExpectations: ADD_EXPECTATIONS,
  workToProcessed: WORK_TO_PROCESSED,
  reportExpectation: REPORT_EXPECTATION,
  ConnectorWorksMutation: DELETE_WORK,
  WorkAliveQuery: IS_WORK_ALIVE,
  WorkQuery: GET_WORK,
  StixBundlePush: STIX_BUNDLE_PUSH,
  ExternalReferences: LIST_EXTERNAL_REFERENCES,
  Reports: LIST_REPORTS,
  ReportIndicators: LIST_REPORT_INDICATORS,
  Indicators: LIST_INDICATORS,
  Labels: LIST_LABELS,
  LabelAdd: LABEL_ADD,
  StixDomainObjectAddRelation: STIX_DOMAIN_OBJECT_ADD_RELATION,
  StixDomainObjectRemoveRelation: STIX_DOMAIN_OBJECT_REMOVE_RELATION,
  StixDomainObjectEdit: STIX_DOMAIN_OBJECT_FIELD_PATCH,
};

const OPERATION_NAME = /^\s*(?:query|mutation)\s+([_A-Za-z][_0-9A-Za-z]*)/;

/** Returns the name of the first operation in a GraphQL text, if it has one. */
export function operationNameOf(text: string): string | undefined {
  return OPERATION_NAME.exec(text)?.[1];
}
