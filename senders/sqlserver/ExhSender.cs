// The exh sender for SQL Server: CLR stored procedures that send one request to the Exchange Connector's database
// listener and return its reply (docs/protocol.md, docs/senders.md). The original's SQLTCPExhItemSender, without
// Newtonsoft.Json: the little JSON this needs is written and read here, so one assembly is all SQL Server loads.
//
// Every procedure returns the exit code (0, 1, 521, 522; docs/protocol.md, "Replies") as its return value, with the
// output value and the error message as OUTPUT parameters, and never throws: a connector that cannot be reached is 521
// (docs/senders.md, "What every sender does alike"). Inside SQL Server
// the connector's address, port and token come from exh_set_up over the context connection; the methods ending in
// "At" take them directly (tests, and a database that should not read exh_set_up).
//
// C# 5 and .NET Framework 4 only (SQL Server's CLR); compiled for the tests with Mono's mcs, whose System.Data has the
// same Microsoft.SqlServer.Server and System.Data.SqlTypes types.

using System;
using System.Collections;
using System.Collections.Generic;
using System.Data.SqlClient;
using System.Data.SqlTypes;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.SqlServer.Server;

public static class ExhSender
{
    /// <summary>Longer than the connector's exchange.timeoutMs (100 s): the reply comes when Exchange has.</summary>
    public const int TimeoutMs = 130000;
    /// <summary>A connection not made within this time means the connector is offline (521).</summary>
    public const int ConnectTimeoutMs = 10000;
    private const int MaxReplyBytes = 64 * 1024 * 1024;
    private const string Offline = "The Exchange Connector is offline";

    // ------------------------------------------------------------------------------------------------------------
    // The SQL Server procedures: exh_set_up is read over the context connection.

    /// <summary>exh_to_exh_{action}_{type}: payload is the procedure's FOR JSON object of its parameters.</summary>
    [SqlProcedure]
    public static SqlInt32 SendItem(SqlString action, SqlString itemType, SqlString user, SqlString payload,
        out SqlString outputValue, out SqlString errorMessage)
    {
        return Deliver(null, "item", new[] { Text(action), Text(itemType), Text(user), Text(payload) },
            out outputValue, out errorMessage);
    }

    /// <summary>exh_sync_users: every user registered again.</summary>
    [SqlProcedure]
    public static SqlInt32 SendSyncUsers(out SqlString outputValue, out SqlString errorMessage)
    {
        return Deliver(null, "syncUsers", new string[0], out outputValue, out errorMessage);
    }

    /// <summary>exh_sync_item: payload is the FOR JSON object of exh_sync_item's parameters.</summary>
    [SqlProcedure]
    public static SqlInt32 SendSyncItem(SqlString payload, out SqlString outputValue, out SqlString errorMessage)
    {
        return Deliver(null, "syncItem", new[] { Text(payload) }, out outputValue, out errorMessage);
    }

    /// <summary>
    /// The original's sendGetAttachment, with its parameters (the address and port as read from exh_set_up by the
    /// caller; the token is read from exh_set_up here): the attachment's bytes in byte_array.
    /// </summary>
    [SqlProcedure]
    public static SqlInt32 sendGetAttachment(SqlString ipAddress, SqlInt32 port, SqlString itemId,
        SqlString attachmentId, SqlString user, out SqlBytes byteArray, out SqlString errorMessage)
    {
        byteArray = SqlBytes.Null;
        Target fromSetUp;
        string problem = ReadSetUp(out fromSetUp);
        if (problem != null)
        {
            errorMessage = new SqlString(problem);
            return new SqlInt32(fromSetUp == null && problem.StartsWith(Offline, StringComparison.Ordinal) ? 521 : 1);
        }
        var target = new Target(ipAddress.IsNull ? fromSetUp.Host : ipAddress.Value,
            port.IsNull ? fromSetUp.Port : port.Value, fromSetUp.Token);
        return Attachment(target, itemId, attachmentId, user, out byteArray, out errorMessage);
    }

    /// <summary>Any request of docs/protocol.md, without the token (it is added from exh_set_up).</summary>
    [SqlProcedure]
    public static SqlInt32 Send(SqlString request, out SqlString outputValue, out SqlString errorMessage)
    {
        return Deliver(null, "send", new[] { Text(request) }, out outputValue, out errorMessage);
    }

    // ------------------------------------------------------------------------------------------------------------
    // The same with the connector given directly.

    public static SqlInt32 SendItemAt(SqlString host, SqlInt32 port, SqlString token, SqlString action,
        SqlString itemType, SqlString user, SqlString payload, out SqlString outputValue, out SqlString errorMessage)
    {
        return Deliver(new Target(host, port, token), "item",
            new[] { Text(action), Text(itemType), Text(user), Text(payload) }, out outputValue, out errorMessage);
    }

    public static SqlInt32 SendSyncUsersAt(SqlString host, SqlInt32 port, SqlString token,
        out SqlString outputValue, out SqlString errorMessage)
    {
        return Deliver(new Target(host, port, token), "syncUsers", new string[0], out outputValue, out errorMessage);
    }

    public static SqlInt32 SendSyncItemAt(SqlString host, SqlInt32 port, SqlString token, SqlString payload,
        out SqlString outputValue, out SqlString errorMessage)
    {
        return Deliver(new Target(host, port, token), "syncItem", new[] { Text(payload) }, out outputValue,
            out errorMessage);
    }

    public static SqlInt32 SendGetAttachmentAt(SqlString host, SqlInt32 port, SqlString token, SqlString itemId,
        SqlString attachmentId, SqlString user, out SqlBytes byteArray, out SqlString errorMessage)
    {
        return Attachment(new Target(host, port, token), itemId, attachmentId, user, out byteArray, out errorMessage);
    }

    public static SqlInt32 SendAt(SqlString host, SqlInt32 port, SqlString token, SqlString request,
        out SqlString outputValue, out SqlString errorMessage)
    {
        return Deliver(new Target(host, port, token), "send", new[] { Text(request) }, out outputValue,
            out errorMessage);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Requests.

    /// <summary>The payload's exh_ keys become the protocol's field names (exh_subject: subject).</summary>
    internal static string ItemRequest(string action, string itemType, string user, string payload)
    {
        var fields = new Dictionary<string, object>();
        var order = new List<string>();
        foreach (var entry in PayloadObject(payload))
        {
            string key = entry.Key.ToLowerInvariant();
            key = key.StartsWith("exh_", StringComparison.Ordinal) ? key.Substring(4) : key;
            if (!fields.ContainsKey(key)) order.Add(key);
            fields[key] = entry.Value;
        }
        var request = new List<KeyValuePair<string, object>>();
        request.Add(Pair("type", "item"));
        request.Add(Pair("action", action));
        request.Add(Pair("itemType", itemType));
        request.Add(Pair("user", user));
        var fieldList = new List<KeyValuePair<string, object>>();
        foreach (string key in order) fieldList.Add(Pair(key, fields[key]));
        request.Add(Pair("fields", fieldList));
        return Json.Write(request);
    }

    /// <summary>exh_sync_item's parameters under the protocol's names (docs/protocol.md, syncItems).</summary>
    internal static string SyncItemRequest(string payload)
    {
        string[,] names =
        {
            { "exh_sync_direction", "direction" }, { "exh_user", "user" }, { "exh_item", "item" },
            { "exh_add", "add" }, { "exh_chg", "chg" }, { "exh_del", "del" },
            { "exh_created_from", "createdFrom" }, { "exh_created_until", "createdUntil" },
            { "exh_modified_from", "modifiedFrom" }, { "exh_modified_until", "modifiedUntil" },
            { "exh_received_from", "receivedFrom" }, { "exh_received_until", "receivedUntil" },
            { "exh_start_from", "startFrom" }, { "exh_start_until", "startUntil" },
        };
        var given = new Dictionary<string, object>();
        foreach (var entry in PayloadObject(payload)) given[entry.Key.ToLowerInvariant()] = entry.Value;
        var request = new List<KeyValuePair<string, object>>();
        request.Add(Pair("type", "syncItems"));
        for (int i = 0; i < names.GetLength(0); i++)
        {
            object value;
            if (given.TryGetValue(names[i, 0], out value) && value != null) request.Add(Pair(names[i, 1], value));
        }
        return Json.Write(request);
    }

    internal static string AttachmentRequest(string user, string itemId, string attachmentId)
    {
        var request = new List<KeyValuePair<string, object>>();
        request.Add(Pair("type", "getAttachment"));
        request.Add(Pair("user", user));
        request.Add(Pair("itemId", itemId));
        request.Add(Pair("attachmentId", attachmentId));
        return Json.Write(request);
    }

    private static List<KeyValuePair<string, object>> PayloadObject(string payload)
    {
        if (payload == null || payload.Trim().Length == 0) return new List<KeyValuePair<string, object>>();
        var parsed = Json.Read(payload) as List<KeyValuePair<string, object>>;
        if (parsed == null) throw new FormatException("the payload must be a JSON object");
        return parsed;
    }

    private static KeyValuePair<string, object> Pair(string key, object value)
    {
        return new KeyValuePair<string, object>(key, value);
    }

    private static string Text(SqlString value)
    {
        return value.IsNull ? null : value.Value;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Sending.

    internal sealed class Target
    {
        public readonly string Host;
        public readonly int Port;
        public readonly string Token;
        /// <summary>
        /// Several instances (docs/senders.md, "Several instances"): exh_ip_addresses, every live instance's listener
        /// as "host:port" separated by commas, tried in turn when one does not accept the connection; null: none.
        /// </summary>
        public readonly string Others;

        public Target(string host, int port, string token, string others = null)
        {
            Host = host;
            Port = port;
            Token = token;
            Others = others;
        }

        /// <summary>The "At" procedures: <c>host</c> may be followed by others as in exh_ip_addresses.</summary>
        public Target(SqlString host, SqlInt32 port, SqlString token)
            : this(host.IsNull ? null : host.Value.Split(',')[0], port.IsNull ? 0 : port.Value,
                token.IsNull ? null : token.Value,
                host.IsNull || host.Value.IndexOf(',') < 0 ? null : host.Value.Substring(host.Value.IndexOf(',') + 1))
        {
        }
    }

    /// <summary>Builds the request inside the try: a procedure never throws, a bad payload is exit code 1.</summary>
    private static string Build(string kind, string[] a)
    {
        switch (kind)
        {
            case "item": return ItemRequest(a[0], a[1], a[2], a[3]);
            case "syncItem": return SyncItemRequest(a[0]);
            case "syncUsers": return "{\"type\":\"syncUsers\"}";
            default:
                if (a[0] == null) throw new FormatException("the request is null");
                return a[0];
        }
    }

    private static SqlInt32 Deliver(Target given, string kind, string[] arguments, out SqlString outputValue,
        out SqlString errorMessage)
    {
        string output;
        string error;
        int exitCode;
        try
        {
            string request = Build(kind, arguments);
            Target target = given;
            string problem = null;
            if (target == null) problem = ReadSetUp(out target);
            exitCode = problem != null
                ? Fail(target == null ? 521 : 1, problem, out output, out error)
                : Exchange(target, WithToken(request, target.Token), out output, out error);
        }
        catch (Exception e)
        {
            exitCode = Fail(1, "exh sender: " + e.Message, out output, out error);
        }
        outputValue = output == null ? SqlString.Null : new SqlString(output);
        errorMessage = error == null ? SqlString.Null : new SqlString(error);
        return new SqlInt32(exitCode);
    }

    private static SqlInt32 Attachment(Target target, SqlString itemId, SqlString attachmentId, SqlString user,
        out SqlBytes byteArray, out SqlString errorMessage)
    {
        SqlString base64;
        SqlInt32 exitCode = Deliver(target, "send",
            new[] { AttachmentRequest(Text(user), Text(itemId), Text(attachmentId)) }, out base64, out errorMessage);
        byteArray = SqlBytes.Null;
        if (exitCode.Value == 0 && !base64.IsNull)
        {
            try
            {
                byteArray = new SqlBytes(Convert.FromBase64String(base64.Value));
            }
            catch (FormatException)
            {
                errorMessage = new SqlString("The Exchange Connector sent an attachment that is not base64.");
                return new SqlInt32(1);
            }
        }
        return exitCode;
    }

    private static string WithToken(string request, string token)
    {
        var original = Json.Read(request) as List<KeyValuePair<string, object>>;
        if (original == null)
        {
            throw new FormatException("the request must be a JSON object with a type (docs/protocol.md)");
        }
        var message = new List<KeyValuePair<string, object>>();
        message.Add(Pair("token", token));
        foreach (var entry in original)
        {
            if (entry.Key != "token") message.Add(entry);
        }
        return Json.Write(message);
    }

    /// <summary>Inside SQL Server: the connector's address, port and token as it wrote them at start-up.</summary>
    private static string ReadSetUp(out Target target)
    {
        target = null;
        string host = null, port = null, token = null, others = null;
        try
        {
            using (var connection = new SqlConnection("context connection=true"))
            {
                connection.Open();
                var command = new SqlCommand(
                    "SELECT exh_parameter, exh_value FROM exh_set_up WHERE exh_parameter IN " +
                    "(N'exh_ip_address', N'exh_ip_address_port', N'exh_listener_token', N'exh_ip_addresses')",
                    connection);
                using (SqlDataReader rows = command.ExecuteReader())
                {
                    while (rows.Read())
                    {
                        string name = rows.GetString(0);
                        string value = rows.IsDBNull(1) ? null : rows.GetString(1);
                        if (name == "exh_ip_address") host = value;
                        else if (name == "exh_ip_address_port") port = value;
                        else if (name == "exh_ip_addresses") others = value;
                        else token = value;
                    }
                }
            }
        }
        catch (Exception e)
        {
            target = new Target(null, 0, null);
            return "exh sender: cannot read exh_set_up: " + e.Message;
        }
        if (host == null || port == null || token == null)
        {
            return Offline + ": exh_set_up has no exh_ip_address, exh_ip_address_port or exh_listener_token; " +
                "start the connector, which writes them at start-up.";
        }
        int portNumber;
        if (!int.TryParse(port.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out portNumber))
        {
            target = new Target(null, 0, null);
            return "exh sender: exh_set_up's exh_ip_address_port is not a port number: " + port;
        }
        target = new Target(host.Trim(), portNumber, token, others);
        return null;
    }

    /// <summary>
    /// One request, one reply (docs/protocol.md): connect, write a line, read a line. With several instances the first
    /// listener that accepts the connection answers; once connected, its reply is the answer (the request may have
    /// been handled), so a listener is given up only when no connection was made.
    /// </summary>
    internal static int Exchange(Target target, string request, out string output, out string error)
    {
        var problems = new List<string>();
        foreach (KeyValuePair<string, int> listener in Listeners(target))
        {
            string where = listener.Key + ":" + listener.Value;
            // An IPv6 address needs a socket of its family (TcpClient() is IPv4 only); a host name either.
            IPAddress address;
            var client = IPAddress.TryParse(listener.Key, out address)
                ? new TcpClient(address.AddressFamily)
                : new TcpClient();
            string problem = null;
            try
            {
                IAsyncResult connecting = client.BeginConnect(listener.Key, listener.Value, null, null);
                if (!connecting.AsyncWaitHandle.WaitOne(ConnectTimeoutMs))
                {
                    problem = "no connection to " + where + " within " + ConnectTimeoutMs + " ms";
                }
                else
                {
                    client.EndConnect(connecting);
                    if (!client.Connected) problem = "cannot connect to " + where;
                }
            }
            catch (Exception e)
            {
                problem = "cannot connect to " + where + " (" + e.Message + ")";
            }
            if (problem == null) return Converse(client, where, request, out output, out error);
            client.Close();
            problems.Add(problem);
        }
        if (problems.Count == 1) return Fail(521, Offline + ": " + problems[0] + ".", out output, out error);
        return Fail(521, Offline + ": no instance accepted the connection: " + string.Join("; ", problems.ToArray()) +
            ".", out output, out error);
    }

    /// <summary>
    /// The target's listener first, then each other of exh_ip_addresses ("host:port", IPv6 in brackets) once.
    /// </summary>
    internal static List<KeyValuePair<string, int>> Listeners(Target target)
    {
        var found = new List<KeyValuePair<string, int>> { new KeyValuePair<string, int>(target.Host, target.Port) };
        foreach (string raw in (target.Others ?? "").Split(','))
        {
            string entry = raw.Trim();
            int colon = entry.LastIndexOf(':');
            int port;
            if (colon <= 0 ||
                !int.TryParse(entry.Substring(colon + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture,
                    out port))
            {
                continue;
            }
            string host = entry.Substring(0, colon).Trim();
            if (host.StartsWith("[") && host.EndsWith("]")) host = host.Substring(1, host.Length - 2);
            var listener = new KeyValuePair<string, int>(host, port);
            if (host.Length > 0 && !found.Contains(listener)) found.Add(listener);
        }
        return found;
    }

    /// <summary>The request on a connected client, and its reply; the client is closed afterwards.</summary>
    private static int Converse(TcpClient connected, string where, string request, out string output, out string error)
    {
        using (var client = connected)
        {
            try
            {
                client.ReceiveTimeout = TimeoutMs;
                client.SendTimeout = TimeoutMs;
                NetworkStream stream = client.GetStream();
                byte[] bytes = new UTF8Encoding(false).GetBytes(request + "\n");
                stream.Write(bytes, 0, bytes.Length);
                stream.Flush();
                var line = new MemoryStream();
                int b;
                while ((b = stream.ReadByte()) != -1 && b != '\n')
                {
                    line.WriteByte((byte)b);
                    if (line.Length > MaxReplyBytes)
                    {
                        return Fail(1, "The reply of the Exchange Connector at " + where + " is too large.", out output,
                            out error);
                    }
                }
                if (line.Length == 0)
                {
                    return Fail(1, "The Exchange Connector at " + where + " closed the connection without a reply.",
                        out output, out error);
                }
                return ParseReply(new UTF8Encoding(false).GetString(line.ToArray()), out output, out error);
            }
            catch (IOException e)
            {
                var socketError = e.InnerException as SocketException;
                if (socketError != null && socketError.SocketErrorCode == SocketError.TimedOut)
                {
                    return Fail(1, "No reply from the Exchange Connector at " + where + " within " + TimeoutMs +
                        " ms.", out output, out error);
                }
                return Fail(1, "The connection to the Exchange Connector at " + where + " failed: " + e.Message + ".",
                    out output, out error);
            }
        }
    }

    internal static int ParseReply(string line, out string output, out string error)
    {
        try
        {
            var reply = Json.Read(line) as List<KeyValuePair<string, object>>;
            if (reply != null)
            {
                object code = null, outputValue = null, errorMessage = null;
                foreach (var entry in reply)
                {
                    if (entry.Key == "exitCode") code = entry.Value;
                    else if (entry.Key == "outputValue") outputValue = entry.Value;
                    else if (entry.Key == "errorMessage") errorMessage = entry.Value;
                }
                var number = code as Json.Number;
                int exitCode;
                if (number != null && int.TryParse(number.Text, NumberStyles.AllowLeadingSign,
                        CultureInfo.InvariantCulture, out exitCode)
                    && (outputValue == null || outputValue is string)
                    && (errorMessage == null || errorMessage is string))
                {
                    output = (string)outputValue;
                    error = (string)errorMessage;
                    return exitCode;
                }
            }
        }
        catch (FormatException)
        {
            // Reported below, as for a reply of the wrong shape.
        }
        return Fail(1, "The Exchange Connector sent a reply that is not {exitCode, outputValue, errorMessage}.",
            out output, out error);
    }

    private static int Fail(int exitCode, string message, out string output, out string error)
    {
        output = null;
        error = message;
        return exitCode;
    }

    // ------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// Just enough JSON (RFC 8259): objects are ordered lists of pairs, numbers keep their text (Json.Number), null
    /// is null, so that a key with null (field unchanged) differs from a missing key.
    /// </summary>
    internal sealed class Json
    {
        internal sealed class Number
        {
            public readonly string Text;

            public Number(string text)
            {
                Text = text;
            }
        }

        private readonly string text;
        private int at;

        private Json(string text)
        {
            this.text = text;
        }

        public static object Read(string text)
        {
            var reader = new Json(text);
            reader.Space();
            object value = reader.Value();
            reader.Space();
            if (reader.at != text.Length) throw reader.Error("unexpected text after the value");
            return value;
        }

        public static string Write(object value)
        {
            var output = new StringBuilder();
            Write(value, output);
            return output.ToString();
        }

        private static void Write(object value, StringBuilder output)
        {
            if (value == null)
            {
                output.Append("null");
            }
            else if (value is string)
            {
                Quote((string)value, output);
            }
            else if (value is Number)
            {
                output.Append(((Number)value).Text);
            }
            else if (value is bool)
            {
                output.Append((bool)value ? "true" : "false");
            }
            else if (value is List<KeyValuePair<string, object>>)
            {
                output.Append('{');
                bool first = true;
                foreach (var entry in (List<KeyValuePair<string, object>>)value)
                {
                    if (!first) output.Append(',');
                    first = false;
                    Quote(entry.Key, output);
                    output.Append(':');
                    Write(entry.Value, output);
                }
                output.Append('}');
            }
            else if (value is List<object>)
            {
                output.Append('[');
                bool first = true;
                foreach (object item in (List<object>)value)
                {
                    if (!first) output.Append(',');
                    first = false;
                    Write(item, output);
                }
                output.Append(']');
            }
            else
            {
                throw new FormatException("cannot write " + value.GetType().Name + " as JSON");
            }
        }

        private static void Quote(string s, StringBuilder output)
        {
            output.Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': output.Append("\\\""); break;
                    case '\\': output.Append("\\\\"); break;
                    case '\n': output.Append("\\n"); break;
                    case '\r': output.Append("\\r"); break;
                    case '\t': output.Append("\\t"); break;
                    default:
                        if (c < 0x20 || c == '\u2028' || c == '\u2029')
                        {
                            output.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        }
                        else
                        {
                            output.Append(c);
                        }
                        break;
                }
            }
            output.Append('"');
        }

        private object Value()
        {
            char c = Peek();
            if (c == '{') return Object();
            if (c == '[') return Array();
            if (c == '"') return String();
            if (string.CompareOrdinal(text, at, "true", 0, 4) == 0) { at += 4; return true; }
            if (string.CompareOrdinal(text, at, "false", 0, 5) == 0) { at += 5; return false; }
            if (string.CompareOrdinal(text, at, "null", 0, 4) == 0) { at += 4; return null; }
            int start = at;
            while (at < text.Length && "+-0123456789.eE".IndexOf(text[at]) >= 0) at++;
            if (start == at) throw Error("unexpected character '" + c + "'");
            return new Number(text.Substring(start, at - start));
        }

        private List<KeyValuePair<string, object>> Object()
        {
            var result = new List<KeyValuePair<string, object>>();
            at++;
            Space();
            if (Peek() == '}') { at++; return result; }
            for (;;)
            {
                Space();
                if (Peek() != '"') throw Error("expected a key");
                string key = String();
                Space();
                Expect(':');
                Space();
                result.Add(new KeyValuePair<string, object>(key, Value()));
                Space();
                if (Peek() == ',') { at++; continue; }
                Expect('}');
                return result;
            }
        }

        private List<object> Array()
        {
            var result = new List<object>();
            at++;
            Space();
            if (Peek() == ']') { at++; return result; }
            for (;;)
            {
                Space();
                result.Add(Value());
                Space();
                if (Peek() == ',') { at++; continue; }
                Expect(']');
                return result;
            }
        }

        private string String()
        {
            var output = new StringBuilder();
            at++;
            for (;;)
            {
                if (at >= text.Length) throw Error("unterminated string");
                char c = text[at++];
                if (c == '"') return output.ToString();
                if (c != '\\') { output.Append(c); continue; }
                if (at >= text.Length) throw Error("unterminated string");
                char e = text[at++];
                switch (e)
                {
                    case 'n': output.Append('\n'); break;
                    case 'r': output.Append('\r'); break;
                    case 't': output.Append('\t'); break;
                    case 'b': output.Append('\b'); break;
                    case 'f': output.Append('\f'); break;
                    case 'u':
                        if (at + 4 > text.Length) throw Error("unterminated \\u escape");
                        output.Append((char)int.Parse(text.Substring(at, 4), NumberStyles.HexNumber,
                            CultureInfo.InvariantCulture));
                        at += 4;
                        break;
                    default: output.Append(e); break;
                }
            }
        }

        private char Peek()
        {
            if (at >= text.Length) throw Error("unexpected end");
            return text[at];
        }

        private void Expect(char c)
        {
            if (Peek() != c) throw Error("expected '" + c + "'");
            at++;
        }

        private void Space()
        {
            while (at < text.Length && " \t\r\n".IndexOf(text[at]) >= 0) at++;
        }

        private FormatException Error(string problem)
        {
            return new FormatException("invalid JSON at character " + at + ": " + problem);
        }
    }
}
