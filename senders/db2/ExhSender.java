import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The exh sender for DB2: Java stored procedures (PARAMETER STYLE JAVA) that send one request to the Exchange
 * Connector's database listener and return its reply (docs/protocol.md, docs/senders.md). The original's
 * TCPExhItemSender, without libraries: DB2 loads one jar, so the little JSON this needs is written and read here.
 *
 * Java 6 source on purpose (IBM i and older DB2 LUW run old JVMs): no diamond, no try-with-resources, no lambdas, no
 * java.nio.file, no java.util.Base64.
 *
 * Every procedure has OUT exit code (int[]), output value and error message as one-element arrays, and never throws:
 * a connector that cannot be reached is exit code 521, which a trigger acts on (docs/senders.md, "What every sender
 * does alike"). Inside DB2 the connector's address, port and token come from exh_set_up over the default connection;
 * the methods ending in "At" take them directly (tests, or a DB2 that should not read exh_set_up).
 */
public class ExhSender {
    /** Longer than the connector's exchange.timeoutMs (100 s): the reply comes when Exchange has answered. */
    public static final int TIMEOUT_MS = 130000;
    /** A connection not made within this time means the connector is offline (521). */
    public static final int CONNECT_TIMEOUT_MS = 10000;
    private static final int MAX_REPLY_BYTES = 64 * 1024 * 1024;
    private static final String OFFLINE = "The Exchange Connector is offline";

    private ExhSender() {
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The DB2 procedures: exh_set_up is read over the default connection.

    /**
     * Any item change with the payload as a CLOB (DB2's JSON_OBJECT gives a CLOB, and bodies outgrow a VARCHAR): the
     * procedure exh_to_exh_* call in synchronous mode (docs/senders.md).
     */
    public static void sendItem(String action, String itemType, String user, java.sql.Clob payload, int[] exitCode,
            String[] outputValue, String[] errorMessage) {
        String text;
        try {
            text = payload == null ? null : payload.getSubString(1, (int) payload.length());
        } catch (SQLException e) {
            exitCode[0] = 1;
            outputValue[0] = null;
            errorMessage[0] = "exh sender: cannot read the payload: " + e.getMessage();
            return;
        }
        deliver(null, "item", new String[] { action, itemType, user, text }, exitCode, outputValue, errorMessage);
    }

    /** exh_to_exh_add_{type}: payload is the JSON object of the procedure's parameters (exh_subject, ...). */
    public static void itemAdd(String itemType, String user, String payload, int[] exitCode, String[] outputValue,
            String[] errorMessage) {
        deliver(null, "item", new String[] { "add", itemType, user, payload }, exitCode, outputValue, errorMessage);
    }

    public static void itemChg(String itemType, String user, String payload, int[] exitCode, String[] outputValue,
            String[] errorMessage) {
        deliver(null, "item", new String[] { "chg", itemType, user, payload }, exitCode, outputValue, errorMessage);
    }

    public static void itemDel(String itemType, String user, String payload, int[] exitCode, String[] outputValue,
            String[] errorMessage) {
        deliver(null, "item", new String[] { "del", itemType, user, payload }, exitCode, outputValue, errorMessage);
    }

    /** exh_sync_users: every user registered again. */
    public static void syncUsers(int[] exitCode, String[] outputValue, String[] errorMessage) {
        deliver(null, "syncUsers", new String[0], exitCode, outputValue, errorMessage);
    }

    /** exh_sync_item: payload is the JSON object of exh_sync_item's parameters (exh_sync_direction, exh_user, ...). */
    public static void syncItem(String payload, int[] exitCode, String[] outputValue, String[] errorMessage) {
        deliver(null, "syncItem", new String[] { payload }, exitCode, outputValue, errorMessage);
    }

    /** The original's sendGetAttachment: outputValue is the attachment's bytes in base64. */
    public static void getAttachment(String user, String itemId, String attachmentId, int[] exitCode,
            String[] outputValue, String[] errorMessage) {
        deliver(null, "getAttachment", new String[] { user, itemId, attachmentId },
                exitCode, outputValue, errorMessage);
    }

    /**
     * The same as a BLOB (the original's byte_array), for attachments larger than a VARCHAR holds; the BLOB is made on
     * the default connection.
     */
    public static void getAttachmentBlob(String user, String itemId, String attachmentId, int[] exitCode,
            java.sql.Blob[] content, String[] errorMessage) {
        String[] base64 = new String[1];
        deliver(null, "getAttachment", new String[] { user, itemId, attachmentId }, exitCode, base64, errorMessage);
        content[0] = null;
        if (exitCode[0] != 0 || base64[0] == null) {
            return;
        }
        try {
            java.sql.Blob blob = DriverManager.getConnection("jdbc:default:connection").createBlob();
            blob.setBytes(1, decodeBase64(base64[0]));
            content[0] = blob;
        } catch (SQLException e) {
            exitCode[0] = 1;
            errorMessage[0] = "exh sender: cannot make the attachment's BLOB: " + e.getMessage();
        } catch (IllegalArgumentException e) {
            exitCode[0] = 1;
            errorMessage[0] = "The Exchange Connector sent an attachment that is not base64.";
        }
    }

    /** Any request of docs/protocol.md, without the token (it is added from exh_set_up). */
    public static void send(String request, int[] exitCode, String[] outputValue, String[] errorMessage) {
        deliver(null, "send", new String[] { request }, exitCode, outputValue, errorMessage);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The same with the connector given directly.

    public static void sendItemAt(String host, int port, String token, String action, String itemType, String user,
            java.sql.Clob payload, int[] exitCode, String[] outputValue, String[] errorMessage) {
        String text;
        try {
            text = payload == null ? null : payload.getSubString(1, (int) payload.length());
        } catch (SQLException e) {
            exitCode[0] = 1;
            outputValue[0] = null;
            errorMessage[0] = "exh sender: cannot read the payload: " + e.getMessage();
            return;
        }
        deliver(new Target(host, port, token), "item", new String[] { action, itemType, user, text }, exitCode,
                outputValue, errorMessage);
    }

    public static void itemAddAt(String host, int port, String token, String itemType, String user, String payload,
            int[] exitCode, String[] outputValue, String[] errorMessage) {
        deliver(new Target(host, port, token), "item", new String[] { "add", itemType, user, payload },
                exitCode, outputValue,
                errorMessage);
    }

    public static void itemChgAt(String host, int port, String token, String itemType, String user, String payload,
            int[] exitCode, String[] outputValue, String[] errorMessage) {
        deliver(new Target(host, port, token), "item", new String[] { "chg", itemType, user, payload },
                exitCode, outputValue,
                errorMessage);
    }

    public static void itemDelAt(String host, int port, String token, String itemType, String user, String payload,
            int[] exitCode, String[] outputValue, String[] errorMessage) {
        deliver(new Target(host, port, token), "item", new String[] { "del", itemType, user, payload },
                exitCode, outputValue,
                errorMessage);
    }

    public static void syncUsersAt(String host, int port, String token, int[] exitCode, String[] outputValue,
            String[] errorMessage) {
        deliver(new Target(host, port, token), "syncUsers", new String[0], exitCode, outputValue, errorMessage);
    }

    public static void syncItemAt(String host, int port, String token, String payload, int[] exitCode,
            String[] outputValue, String[] errorMessage) {
        deliver(new Target(host, port, token), "syncItem", new String[] { payload },
                exitCode, outputValue, errorMessage);
    }

    public static void getAttachmentAt(String host, int port, String token, String user, String itemId,
            String attachmentId, int[] exitCode, String[] outputValue, String[] errorMessage) {
        deliver(new Target(host, port, token), "getAttachment", new String[] { user, itemId, attachmentId },
                exitCode, outputValue,
                errorMessage);
    }

    public static void sendAt(String host, int port, String token, String request, int[] exitCode,
            String[] outputValue, String[] errorMessage) {
        deliver(new Target(host, port, token), "send", new String[] { request }, exitCode, outputValue, errorMessage);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Requests.

    /** The payload's exh_ keys become the protocol's field names; DB2 timestamps become ISO 8601 (UTC). */
    static String itemRequest(String action, String itemType, String user, String payload) {
        Map<String, Object> request = new LinkedHashMap<String, Object>();
        request.put("type", "item");
        request.put("action", action);
        request.put("itemType", itemType);
        request.put("user", user);
        Map<String, Object> fields = new LinkedHashMap<String, Object>();
        Map<String, Object> given = payloadObject(payload);
        for (Iterator<Map.Entry<String, Object>> i = given.entrySet().iterator(); i.hasNext();) {
            Map.Entry<String, Object> entry = i.next();
            String key = entry.getKey().toLowerCase();
            fields.put(key.startsWith("exh_") ? key.substring(4) : key, isoTimestamp(entry.getValue()));
        }
        request.put("fields", fields);
        return Json.write(request);
    }

    /** exh_sync_item's parameters under the protocol's names (docs/protocol.md, syncItems). */
    static String syncItemRequest(String payload) {
        String[][] names = { { "exh_sync_direction", "direction" }, { "exh_user", "user" }, { "exh_item", "item" },
                { "exh_add", "add" }, { "exh_chg", "chg" }, { "exh_del", "del" },
                { "exh_created_from", "createdFrom" }, { "exh_created_until", "createdUntil" },
                { "exh_modified_from", "modifiedFrom" }, { "exh_modified_until", "modifiedUntil" },
                { "exh_received_from", "receivedFrom" }, { "exh_received_until", "receivedUntil" },
                { "exh_start_from", "startFrom" }, { "exh_start_until", "startUntil" } };
        Map<String, Object> given = new LinkedHashMap<String, Object>();
        Map<String, Object> raw = payloadObject(payload);
        for (Iterator<Map.Entry<String, Object>> i = raw.entrySet().iterator(); i.hasNext();) {
            Map.Entry<String, Object> entry = i.next();
            given.put(entry.getKey().toLowerCase(), entry.getValue());
        }
        Map<String, Object> request = new LinkedHashMap<String, Object>();
        request.put("type", "syncItems");
        for (int i = 0; i < names.length; i++) {
            if (given.containsKey(names[i][0])) {
                Object value = isoTimestamp(given.get(names[i][0]));
                if (value != Json.NULL) {
                    request.put(names[i][1], value);
                }
            }
        }
        return Json.write(request);
    }

    static String attachmentRequest(String user, String itemId, String attachmentId) {
        Map<String, Object> request = new LinkedHashMap<String, Object>();
        request.put("type", "getAttachment");
        request.put("user", user);
        request.put("itemId", itemId);
        request.put("attachmentId", attachmentId);
        return Json.write(request);
    }

    private static Map<String, Object> payloadObject(String payload) {
        if (payload == null || payload.trim().length() == 0) {
            return new LinkedHashMap<String, Object>();
        }
        Object parsed = Json.read(payload);
        if (!(parsed instanceof Map)) {
            throw new IllegalArgumentException("the payload must be a JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> object = (Map<String, Object>) parsed;
        return object;
    }

    /** DB2's character forms of a TIMESTAMP (2026-12-01-09.00.00.000000, 2026-12-01 09:00:00) as ISO 8601 UTC. */
    static Object isoTimestamp(Object value) {
        if (!(value instanceof String)) {
            return value;
        }
        String text = ((String) value).trim();
        if (!text.matches("\\d{4}-\\d{2}-\\d{2}(-\\d{2}\\.\\d{2}\\.\\d{2}| \\d{2}:\\d{2}:\\d{2})(\\.\\d+)?")) {
            return value;
        }
        String fraction = text.length() > 19 ? text.substring(19) : "";
        if (fraction.length() > 4) {
            fraction = fraction.substring(0, 4);
        }
        return text.substring(0, 10) + "T" + text.substring(11, 13) + ":" + text.substring(14, 16) + ":"
                + text.substring(17, 19) + fraction + "Z";
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Sending.

    static final class Target {
        final String host;
        final int port;
        final String token;
        /**
         * Several instances (docs/senders.md, "Several instances"): exh_ip_addresses, every live instance's listener as
         * "host:port" separated by commas, tried in turn when one does not accept the connection; null: none.
         */
        final String others;

        /** {@code host} may be followed by others as in exh_ip_addresses, "host,host2:port2,…" (the "At" methods). */
        Target(String host, int port, String token) {
            this(before(host, ','), port, token, host.indexOf(',') < 0 ? null : host.substring(host.indexOf(',') + 1));
        }

        Target(String host, int port, String token, String others) {
            this.host = host;
            this.port = port;
            this.token = token;
            this.others = others;
        }

        private static String before(String text, char separator) {
            int at = text.indexOf(separator);
            return at < 0 ? text : text.substring(0, at);
        }
    }

    /** Builds the request inside the try: a procedure never throws, a bad payload is exit code 1. */
    private static String build(String kind, String[] a) {
        if ("item".equals(kind)) {
            return itemRequest(a[0], a[1], a[2], a[3]);
        }
        if ("syncItem".equals(kind)) {
            return syncItemRequest(a[0]);
        }
        if ("getAttachment".equals(kind)) {
            return attachmentRequest(a[0], a[1], a[2]);
        }
        if ("syncUsers".equals(kind)) {
            return "{\"type\":\"syncUsers\"}";
        }
        if (a[0] == null) {
            throw new IllegalArgumentException("the request is null");
        }
        return a[0];
    }

    private static void deliver(Target given, String kind, String[] arguments, int[] exitCode, String[] outputValue,
            String[] errorMessage) {
        Object[] reply;
        try {
            String request = build(kind, arguments);
            Target target = given != null ? given : targetFromSetUp();
            reply = target == null
                    ? failure(521, OFFLINE + ": exh_set_up has no exh_ip_address, exh_ip_address_port or "
                            + "exh_listener_token; start the connector, which writes them at start-up.")
                    : exchange(target, withToken(request, target.token));
        } catch (RuntimeException e) {
            reply = failure(1, "exh sender: " + e.getMessage());
        } catch (SQLException e) {
            reply = failure(1, "exh sender: cannot read exh_set_up: " + e.getMessage());
        }
        exitCode[0] = ((Integer) reply[0]).intValue();
        outputValue[0] = (String) reply[1];
        errorMessage[0] = (String) reply[2];
    }

    private static String withToken(String request, String token) {
        Object parsed = Json.read(request);
        if (!(parsed instanceof Map)) {
            throw new IllegalArgumentException("the request must be a JSON object with a type (docs/protocol.md)");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> original = (Map<String, Object>) parsed;
        Map<String, Object> message = new LinkedHashMap<String, Object>();
        message.put("token", token);
        for (Iterator<Map.Entry<String, Object>> i = original.entrySet().iterator(); i.hasNext();) {
            Map.Entry<String, Object> entry = i.next();
            if (!"token".equals(entry.getKey())) {
                message.put(entry.getKey(), entry.getValue());
            }
        }
        return Json.write(message);
    }

    /** Inside DB2: the connector's address, port and token as it wrote them at start-up. */
    private static Target targetFromSetUp() throws SQLException {
        Connection connection = DriverManager.getConnection("jdbc:default:connection");
        PreparedStatement statement = connection.prepareStatement("SELECT exh_parameter, exh_value FROM exh_set_up"
                + " WHERE exh_parameter IN ('exh_ip_address', 'exh_ip_address_port', 'exh_listener_token',"
                + " 'exh_ip_addresses')");
        String host = null;
        String port = null;
        String token = null;
        String others = null;
        try {
            ResultSet rows = statement.executeQuery();
            while (rows.next()) {
                String name = rows.getString(1).trim();
                String value = rows.getString(2);
                if ("exh_ip_address".equals(name)) {
                    host = value;
                } else if ("exh_ip_address_port".equals(name)) {
                    port = value;
                } else if ("exh_ip_addresses".equals(name)) {
                    others = value;
                } else {
                    token = value;
                }
            }
            rows.close();
        } finally {
            statement.close();
        }
        if (host == null || port == null || token == null) {
            return null;
        }
        return new Target(host.trim(), Integer.parseInt(port.trim()), token, others);
    }

    /**
     * One request, one reply (docs/protocol.md): connect, write a line, read a line. With several instances the first
     * listener that accepts the connection answers; once connected, its reply is the answer (the request may have been
     * handled), so a listener is given up only when no connection was made.
     */
    static Object[] exchange(Target target, String request) {
        List<String> problems = new ArrayList<String>();
        for (Iterator<Object[]> i = listeners(target).iterator(); i.hasNext();) {
            Object[] listener = i.next();
            String host = (String) listener[0];
            int port = ((Integer) listener[1]).intValue();
            String where = host + ":" + port;
            Socket socket = new Socket();
            String problem;
            try {
                socket.connect(new InetSocketAddress(host, port), CONNECT_TIMEOUT_MS);
                problem = null;
            } catch (SocketTimeoutException e) {
                problem = "no connection to " + where + " within " + CONNECT_TIMEOUT_MS + " ms";
            } catch (IOException e) {
                problem = "cannot connect to " + where + " (" + e + ")";
            } catch (IllegalArgumentException e) {
                problem = "cannot connect to " + where + " (" + e.getMessage() + ")";
            }
            if (problem == null) {
                return converse(socket, where, request);
            }
            close(socket);
            problems.add(problem);
        }
        if (problems.size() == 1) {
            return failure(521, OFFLINE + ": " + problems.get(0) + ".");
        }
        StringBuilder all = new StringBuilder();
        for (Iterator<String> i = problems.iterator(); i.hasNext();) {
            all.append(i.next()).append(i.hasNext() ? "; " : "");
        }
        return failure(521, OFFLINE + ": no instance accepted the connection: " + all + ".");
    }

    /** The target's listener first, then each other of exh_ip_addresses ("host:port", IPv6 in brackets) once. */
    static List<Object[]> listeners(Target target) {
        List<Object[]> found = new ArrayList<Object[]>();
        List<String> seen = new ArrayList<String>();
        found.add(new Object[] { target.host, Integer.valueOf(target.port) });
        seen.add(target.host + ":" + target.port);
        String[] entries = target.others == null ? new String[0] : target.others.split(",");
        for (int i = 0; i < entries.length; i++) {
            String entry = entries[i].trim();
            int colon = entry.lastIndexOf(':');
            if (colon <= 0) {
                continue;
            }
            String host = entry.substring(0, colon).trim();
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            int port;
            try {
                port = Integer.parseInt(entry.substring(colon + 1).trim());
            } catch (NumberFormatException e) {
                continue;
            }
            if (host.length() > 0 && !seen.contains(host + ":" + port)) {
                seen.add(host + ":" + port);
                found.add(new Object[] { host, Integer.valueOf(port) });
            }
        }
        return found;
    }

    private static void close(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // Closing a socket that failed tells nothing more.
        }
    }

    /** The request on a connected socket, and its reply; the socket is closed afterwards. */
    private static Object[] converse(Socket socket, String where, String request) {
        try {
            try {
                socket.setSoTimeout(TIMEOUT_MS);
                OutputStream out = socket.getOutputStream();
                out.write((request + "\n").getBytes("UTF-8"));
                out.flush();
                InputStream in = socket.getInputStream();
                ByteArrayOutputStream line = new ByteArrayOutputStream();
                int b;
                while ((b = in.read()) != -1 && b != '\n') {
                    line.write(b);
                    if (line.size() > MAX_REPLY_BYTES) {
                        return failure(1, "The reply of the Exchange Connector at " + where + " is too large.");
                    }
                }
                if (line.size() == 0) {
                    return failure(1, "The Exchange Connector at " + where
                            + " closed the connection without a reply.");
                }
                return parseReply(new String(line.toByteArray(), "UTF-8"));
            } catch (SocketTimeoutException e) {
                return failure(1, "No reply from the Exchange Connector at " + where + " within " + TIMEOUT_MS
                        + " ms.");
            } catch (IOException e) {
                return failure(1, "The connection to the Exchange Connector at " + where + " failed: " + e + ".");
            }
        } finally {
            close(socket);
        }
    }

    static Object[] parseReply(String line) {
        try {
            Object parsed = Json.read(line);
            if (parsed instanceof Map) {
                Map<?, ?> reply = (Map<?, ?>) parsed;
                Object code = reply.get("exitCode");
                Object output = reply.get("outputValue");
                Object error = reply.get("errorMessage");
                if (code instanceof Json.Number && ((Json.Number) code).isInteger()
                        && (output == null || output == Json.NULL || output instanceof String)
                        && (error == null || error == Json.NULL || error instanceof String)) {
                    return new Object[] { Integer.valueOf(((Json.Number) code).text), output == Json.NULL ? null
                            : output, error == Json.NULL ? null : error };
                }
            }
        } catch (RuntimeException e) {
            // Reported below, as for a reply of the wrong shape.
        }
        return failure(1, "The Exchange Connector sent a reply that is not {exitCode, outputValue, errorMessage}.");
    }

    /** RFC 4648 base64 with padding, as the connector writes it (java.util.Base64 came with Java 8). */
    static byte[] decodeBase64(String text) {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        String s = text.trim();
        if (s.length() % 4 != 0) {
            throw new IllegalArgumentException("base64 length");
        }
        int padding = s.endsWith("==") ? 2 : s.endsWith("=") ? 1 : 0;
        byte[] out = new byte[s.length() / 4 * 3 - padding];
        int o = 0;
        for (int i = 0; i < s.length(); i += 4) {
            int n = 0;
            for (int j = 0; j < 4; j++) {
                char c = s.charAt(i + j);
                int v = c == '=' ? 0 : alphabet.indexOf(c);
                if (v < 0) {
                    throw new IllegalArgumentException("base64 character");
                }
                n = (n << 6) | v;
            }
            for (int k = 2; k >= 0 && o < out.length; k--) {
                out[o++] = (byte) ((n >> (8 * k)) & 0xff);
            }
        }
        return out;
    }

    private static Object[] failure(int exitCode, String message) {
        return new Object[] { Integer.valueOf(exitCode), null, message };
    }

    // ---------------------------------------------------------------------------------------------------------------
    // For tests and scripts outside DB2: java ExhSender HOST PORT TOKEN PROCEDURE ARGUMENTS...
    // prints the exit code, the output value and the error message as one JSON line, and exits with the exit code.

    public static void main(String[] args) {
        if (args.length < 4) {
            System.err.println("usage: java ExhSender HOST PORT TOKEN itemAdd|itemChg|itemDel TYPE USER PAYLOAD");
            System.err.println("       java ExhSender HOST PORT TOKEN syncUsers | syncItem PAYLOAD | send REQUEST");
            System.err.println("       java ExhSender HOST PORT TOKEN getAttachment USER ITEM_ID ATTACHMENT_ID");
            System.exit(2);
        }
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        String token = args[2];
        String procedure = args[3];
        int[] exitCode = new int[1];
        String[] outputValue = new String[1];
        String[] errorMessage = new String[1];
        if ("itemAdd".equals(procedure)) {
            itemAddAt(host, port, token, args[4], args[5], args[6], exitCode, outputValue, errorMessage);
        } else if ("itemChg".equals(procedure)) {
            itemChgAt(host, port, token, args[4], args[5], args[6], exitCode, outputValue, errorMessage);
        } else if ("itemDel".equals(procedure)) {
            itemDelAt(host, port, token, args[4], args[5], args[6], exitCode, outputValue, errorMessage);
        } else if ("syncUsers".equals(procedure)) {
            syncUsersAt(host, port, token, exitCode, outputValue, errorMessage);
        } else if ("syncItem".equals(procedure)) {
            syncItemAt(host, port, token, args[4], exitCode, outputValue, errorMessage);
        } else if ("getAttachment".equals(procedure)) {
            getAttachmentAt(host, port, token, args[4], args[5], args[6], exitCode, outputValue, errorMessage);
        } else if ("sendItem".equals(procedure)) {
            java.sql.Clob payload;
            try {
                payload = new javax.sql.rowset.serial.SerialClob(args[7].toCharArray());
            } catch (SQLException e) {
                throw new IllegalStateException(e.getMessage());
            }
            sendItemAt(host, port, token, args[4], args[5], args[6], payload, exitCode, outputValue, errorMessage);
        } else if ("getAttachmentDecoded".equals(procedure)) {
            // Through the BLOB path's decoder: the bytes, base64 again (java.util.Base64 exists outside DB2's JVM).
            getAttachmentAt(host, port, token, args[4], args[5], args[6], exitCode, outputValue, errorMessage);
            if (exitCode[0] == 0 && outputValue[0] != null) {
                outputValue[0] = hex(decodeBase64(outputValue[0]));
            }
        } else if ("send".equals(procedure)) {
            sendAt(host, port, token, args[4], exitCode, outputValue, errorMessage);
        } else {
            System.err.println("unknown procedure " + procedure);
            System.exit(2);
        }
        Map<String, Object> result = new LinkedHashMap<String, Object>();
        result.put("exitCode", new Json.Number(String.valueOf(exitCode[0])));
        result.put("outputValue", outputValue[0] == null ? Json.NULL : outputValue[0]);
        result.put("errorMessage", errorMessage[0] == null ? Json.NULL : errorMessage[0]);
        System.out.println(Json.write(result));
        System.exit(exitCode[0] == 0 ? 0 : 1);
    }

    private static String hex(byte[] bytes) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < bytes.length; i++) {
            out.append(Character.forDigit((bytes[i] >> 4) & 0xf, 16)).append(Character.forDigit(bytes[i] & 0xf, 16));
        }
        return out.toString();
    }

    // ---------------------------------------------------------------------------------------------------------------

    /**
     * Just enough JSON (RFC 8259): objects keep their order, numbers keep their text, null is Json.NULL so that a key
     * with null differs from a missing key ("null leaves a field unchanged").
     */
    static final class Json {
        static final Object NULL = new Object() {
            public String toString() {
                return "null";
            }
        };

        static final class Number {
            final String text;

            Number(String text) {
                this.text = text;
            }

            boolean isInteger() {
                return text.matches("-?\\d{1,9}");
            }
        }

        private final String text;
        private int at;

        private Json(String text) {
            this.text = text;
        }

        static Object read(String text) {
            Json reader = new Json(text);
            reader.space();
            Object value = reader.value();
            reader.space();
            if (reader.at != text.length()) {
                throw reader.error("unexpected text after the value");
            }
            return value;
        }

        static String write(Object value) {
            StringBuilder out = new StringBuilder();
            write(value, out);
            return out.toString();
        }

        private static void write(Object value, StringBuilder out) {
            if (value == null || value == NULL) {
                out.append("null");
            } else if (value instanceof String) {
                quote((String) value, out);
            } else if (value instanceof Number) {
                out.append(((Number) value).text);
            } else if (value instanceof Boolean) {
                out.append(((Boolean) value).booleanValue() ? "true" : "false");
            } else if (value instanceof Map) {
                out.append('{');
                boolean first = true;
                for (Iterator<?> i = ((Map<?, ?>) value).entrySet().iterator(); i.hasNext();) {
                    Map.Entry<?, ?> entry = (Map.Entry<?, ?>) i.next();
                    if (!first) {
                        out.append(',');
                    }
                    first = false;
                    quote(String.valueOf(entry.getKey()), out);
                    out.append(':');
                    write(entry.getValue(), out);
                }
                out.append('}');
            } else if (value instanceof List) {
                out.append('[');
                for (int i = 0; i < ((List<?>) value).size(); i++) {
                    if (i > 0) {
                        out.append(',');
                    }
                    write(((List<?>) value).get(i), out);
                }
                out.append(']');
            } else {
                throw new IllegalArgumentException("cannot write " + value.getClass().getName() + " as JSON");
            }
        }

        private static void quote(String s, StringBuilder out) {
            out.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '"' || c == '\\') {
                    out.append('\\').append(c);
                } else if (c == '\n') {
                    out.append("\\n");
                } else if (c == '\r') {
                    out.append("\\r");
                } else if (c == '\t') {
                    out.append("\\t");
                } else if (c < 0x20 || c == 0x2028 || c == 0x2029) {
                    String hex = Integer.toHexString(c);
                    out.append("\\u");
                    for (int pad = hex.length(); pad < 4; pad++) {
                        out.append('0');
                    }
                    out.append(hex);
                } else {
                    out.append(c);
                }
            }
            out.append('"');
        }

        private Object value() {
            if (at >= text.length()) {
                throw error("unexpected end");
            }
            char c = text.charAt(at);
            if (c == '{') {
                return object();
            }
            if (c == '[') {
                return array();
            }
            if (c == '"') {
                return string();
            }
            if (text.startsWith("true", at)) {
                at += 4;
                return Boolean.TRUE;
            }
            if (text.startsWith("false", at)) {
                at += 5;
                return Boolean.FALSE;
            }
            if (text.startsWith("null", at)) {
                at += 4;
                return NULL;
            }
            int start = at;
            while (at < text.length() && "+-0123456789.eE".indexOf(text.charAt(at)) >= 0) {
                at++;
            }
            if (start == at) {
                throw error("unexpected character '" + c + "'");
            }
            return new Number(text.substring(start, at));
        }

        private Map<String, Object> object() {
            Map<String, Object> object = new LinkedHashMap<String, Object>();
            at++;
            space();
            if (peek() == '}') {
                at++;
                return object;
            }
            for (;;) {
                space();
                if (peek() != '"') {
                    throw error("expected a key");
                }
                String key = string();
                space();
                expect(':');
                space();
                object.put(key, value());
                space();
                if (peek() == ',') {
                    at++;
                    continue;
                }
                expect('}');
                return object;
            }
        }

        private List<Object> array() {
            List<Object> array = new ArrayList<Object>();
            at++;
            space();
            if (peek() == ']') {
                at++;
                return array;
            }
            for (;;) {
                space();
                array.add(value());
                space();
                if (peek() == ',') {
                    at++;
                    continue;
                }
                expect(']');
                return array;
            }
        }

        private String string() {
            StringBuilder out = new StringBuilder();
            at++;
            for (;;) {
                if (at >= text.length()) {
                    throw error("unterminated string");
                }
                char c = text.charAt(at++);
                if (c == '"') {
                    return out.toString();
                }
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                char e = text.charAt(at++);
                switch (e) {
                case 'n':
                    out.append('\n');
                    break;
                case 'r':
                    out.append('\r');
                    break;
                case 't':
                    out.append('\t');
                    break;
                case 'b':
                    out.append('\b');
                    break;
                case 'f':
                    out.append('\f');
                    break;
                case 'u':
                    out.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
                    at += 4;
                    break;
                default:
                    out.append(e);
                }
            }
        }

        private char peek() {
            if (at >= text.length()) {
                throw error("unexpected end");
            }
            return text.charAt(at);
        }

        private void expect(char c) {
            if (peek() != c) {
                throw error("expected '" + c + "'");
            }
            at++;
        }

        private void space() {
            while (at < text.length() && " \t\r\n".indexOf(text.charAt(at)) >= 0) {
                at++;
            }
        }

        private IllegalArgumentException error(String problem) {
            return new IllegalArgumentException("invalid JSON at character " + at + ": " + problem);
        }
    }
}
