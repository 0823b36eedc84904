import { generatedHeader } from './routines.js';

/**
 * The synchronous sender for PostgreSQL (docs/senders.md): a PL/Python function that sends one request to the
 * connector's database listener (docs/protocol.md) and returns its reply, as the CLR and Java senders in senders/ do.
 * Installed by `exh db install --sync-sender` after the base project; CREATE OR REPLACE and IF NOT EXISTS throughout,
 * so installing again changes nothing.
 *
 * The base project's exh_to_exh_* send through it instead of writing exh_outbox while exh_set_up has
 * exh_send_mode = 'sync' (sendModeParameter); this script adds that row as 'outbox', so nothing changes until the
 * application switches.
 */

/** The exh_set_up row that chooses how exh_to_exh_* send: 'outbox' (the default) or 'sync'. */
export const sendModeParameter = 'exh_send_mode';

/** The function the base project's exh_to_exh_* call in synchronous mode. */
export const sendItemFunction = 'exh_send_item';

/** Longer than exchange.timeoutMs (100 s by default): the listener answers only when Exchange has. */
export const defaultTimeoutSeconds = 130;

/** A connection that is not made within this time means the connector is offline (521). */
const connectTimeoutSeconds = 10;

/** The Python body of exh_send. Reads exh_set_up on every call: the connector rewrites it at each start. */
const sendBody = `import json
import socket

offline = "The Exchange Connector is offline"
rows = plpy.execute(
    "SELECT exh_parameter, exh_value FROM exh_set_up WHERE exh_parameter IN "
    "('exh_ip_address', 'exh_ip_address_port', 'exh_listener_token', 'exh_ip_addresses')"
)
setup = dict((row["exh_parameter"], row["exh_value"]) for row in rows)
host = setup.get("exh_ip_address")
port = setup.get("exh_ip_address_port")
token = setup.get("exh_listener_token")
if not host or not port or not token:
    return (521, None, offline + ": exh_set_up has no exh_ip_address, exh_ip_address_port or exh_listener_token; "
            "start the connector, which writes them at start-up")
if request is None:
    return (1, None, "exh_send: the request is null")
message = json.loads(request)
if not isinstance(message, dict):
    return (1, None, "exh_send: the request must be a JSON object with a type (docs/protocol.md)")
# The token first: the listener reads it as soon as it arrives and a long request keeps its own read time-out
# (docs/protocol.md, "Limits and time-outs").
message = dict([("token", token)] + [(k, v) for k, v in message.items() if k != "token"])
line = (json.dumps(message) + "\\n").encode("utf-8")
timeout = float(timeout_seconds if timeout_seconds and timeout_seconds > 0 else ${defaultTimeoutSeconds})
connect_timeout = min(timeout, ${connectTimeoutSeconds})

# Several instances (docs/senders.md): exh_ip_addresses lists every live one as host:port; when one does not accept
# the connection, the next is tried. Once connected, its reply is the answer (the request may have been handled).
targets = [(host.strip(), port.strip())]
for entry in (setup.get("exh_ip_addresses") or "").split(","):
    other_host, colon, other_port = entry.strip().rpartition(":")
    other = (other_host.strip("[]"), other_port)
    if colon and other[0] and other not in targets:
        targets.append(other)
connection = None
problems = []
for target in targets:
    where = "%s:%s" % target
    try:
        connection = socket.create_connection((target[0], int(target[1])), timeout=connect_timeout)
        break
    except socket.timeout:
        problems.append("no connection to %s within %d s" % (where, connect_timeout))
    except (OSError, ValueError) as error:
        problems.append("cannot connect to %s (%s)" % (where, error))
if connection is None:
    if len(problems) == 1:
        return (521, None, "%s: %s." % (offline, problems[0]))
    return (521, None, "%s: no instance accepted the connection: %s." % (offline, "; ".join(problems)))

received = b""
try:
    connection.settimeout(timeout)
    connection.sendall(line)
    while b"\\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            break
        received += chunk
        if len(received) > 64 * 1024 * 1024:
            return (1, None, "The reply of the Exchange Connector at %s is larger than 64 MiB." % where)
except socket.timeout:
    return (1, None, "No reply from the Exchange Connector at %s within %d s." % (where, timeout))
except OSError as error:
    return (1, None, "The connection to the Exchange Connector at %s failed: %s." % (where, error))
finally:
    connection.close()

reply_line = received.split(b"\\n", 1)[0]
if not reply_line.strip():
    return (1, None, "The Exchange Connector at %s closed the connection without a reply." % where)
try:
    reply = json.loads(reply_line.decode("utf-8"))
    exit_code = reply["exitCode"]
    if not isinstance(exit_code, int) or isinstance(exit_code, bool):
        raise ValueError("exitCode")
    output_value = reply.get("outputValue")
    error_message = reply.get("errorMessage")
except (ValueError, KeyError, TypeError):
    return (1, None, "The Exchange Connector sent a reply that is not {exitCode, outputValue, errorMessage}.")
return (exit_code, output_value, error_message)`;

export function postgresSyncSender(): string {
  return `${[
    generatedHeader(
      'postgres',
      'exh synchronous sender for PostgreSQL (install after base-project.sql: exh db install --sync-sender).',
      '--',
    ),
    `-- PL/Python is untrusted: creating it needs a superuser (or a role the server allows to), and the server needs the
-- Debian package postgresql-plpython3-NN of its major version. docs/senders.md.
CREATE EXTENSION IF NOT EXISTS plpython3u;`,
    `-- How exh_to_exh_* send: 'outbox' (the default; exh_outbox, drained by the connector) or 'sync' (exh_send_item at
-- once, in the caller's transaction, whose trigger rolls back on a non-zero exit code: docs/senders.md).
INSERT INTO exh_set_up (exh_parameter, exh_value) VALUES ('${sendModeParameter}', 'outbox')
ON CONFLICT (exh_parameter) DO NOTHING;`,
    `-- Sends one request (docs/protocol.md, without the token: it is added from exh_set_up) to the connector and returns
-- its reply. Never raises: a connector that cannot be reached is exit code 521, which a trigger can act on
-- (docs/senders.md, "What every sender does alike").
CREATE OR REPLACE FUNCTION exh_send(
  request jsonb,
  timeout_seconds integer DEFAULT ${defaultTimeoutSeconds},
  OUT exit_code integer,
  OUT output_value text,
  OUT error_message text
)
LANGUAGE plpython3u VOLATILE AS $fn$
${sendBody}
$fn$;`,
    `-- One item change: the payload is the outbox's (keys are column names, exh_subject), sent without the exh_ prefix.
CREATE OR REPLACE FUNCTION ${sendItemFunction}(
  exh_action text,
  exh_item_type text,
  exh_user text,
  exh_payload jsonb,
  OUT exit_code integer,
  OUT output_value text,
  OUT error_message text
)
LANGUAGE sql VOLATILE AS $fn$
  SELECT s.exit_code, s.output_value, s.error_message
  FROM exh_send(
    jsonb_build_object(
      'type', 'item',
      'action', ${sendItemFunction}.exh_action,
      'itemType', ${sendItemFunction}.exh_item_type,
      'user', ${sendItemFunction}.exh_user,
      'fields', (
        SELECT coalesce(jsonb_object_agg(substr(p.key, 5), p.value), '{}'::jsonb)
        FROM jsonb_each(${sendItemFunction}.exh_payload) AS p
        WHERE p.key LIKE 'exh\\_%'
      )
    )
  ) AS s
$fn$;`,
    `-- The original's sendGetAttachment (docs/senders.md): one attachment's bytes (exit code 0), or the reason in
-- error_message.
CREATE OR REPLACE FUNCTION exh_send_get_attachment(
  exh_user text,
  exh_item_id text,
  exh_attachment_id text,
  OUT exit_code integer,
  OUT content bytea,
  OUT error_message text
)
LANGUAGE sql VOLATILE AS $fn$
  SELECT s.exit_code, CASE WHEN s.exit_code = 0 THEN decode(s.output_value, 'base64') END, s.error_message
  FROM exh_send(
    jsonb_build_object(
      'type', 'getAttachment',
      'user', exh_send_get_attachment.exh_user,
      'itemId', exh_send_get_attachment.exh_item_id,
      'attachmentId', exh_send_get_attachment.exh_attachment_id
    )
  ) AS s
$fn$;`,
  ].join('\n\n')}\n`;
}
