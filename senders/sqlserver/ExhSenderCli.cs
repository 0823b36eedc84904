// A command-line harness around the CLR procedures, for tests and scripts outside SQL Server (Mono or .NET):
//   mono exh-sender.exe HOST PORT TOKEN item ACTION TYPE USER PAYLOAD
//   mono exh-sender.exe HOST PORT TOKEN syncUsers | syncItem PAYLOAD | send REQUEST
//   mono exh-sender.exe HOST PORT TOKEN getAttachment USER ITEM_ID ATTACHMENT_ID
// It calls the same methods SQL Server calls (the "At" forms, given the connector directly), prints the exit code,
// the output value and the error message as one JSON line (an attachment's bytes as base64), and exits 0 or 1.
// Not part of the assembly SQL Server loads.

using System;
using System.Collections.Generic;
using System.Data.SqlTypes;
using System.Globalization;

public static class ExhSenderCli
{
    public static int Main(string[] args)
    {
        if (args.Length < 4)
        {
            Console.Error.WriteLine("usage: exh-sender HOST PORT TOKEN item|syncUsers|syncItem|getAttachment|send ...");
            return 2;
        }
        var host = new SqlString(args[0]);
        var port = new SqlInt32(int.Parse(args[1], CultureInfo.InvariantCulture));
        var token = new SqlString(args[2]);
        SqlString output = SqlString.Null;
        SqlString error;
        SqlInt32 exitCode;
        switch (args[3])
        {
            case "item":
                exitCode = ExhSender.SendItemAt(host, port, token, Arg(args, 4), Arg(args, 5), Arg(args, 6),
                    Arg(args, 7), out output, out error);
                break;
            case "syncUsers":
                exitCode = ExhSender.SendSyncUsersAt(host, port, token, out output, out error);
                break;
            case "syncItem":
                exitCode = ExhSender.SendSyncItemAt(host, port, token, Arg(args, 4), out output, out error);
                break;
            case "getAttachment":
                SqlBytes bytes;
                exitCode = ExhSender.SendGetAttachmentAt(host, port, token, Arg(args, 5), Arg(args, 6), Arg(args, 4),
                    out bytes, out error);
                if (!bytes.IsNull) output = new SqlString(Convert.ToBase64String(bytes.Value));
                break;
            case "send":
                exitCode = ExhSender.SendAt(host, port, token, Arg(args, 4), out output, out error);
                break;
            default:
                Console.Error.WriteLine("unknown procedure " + args[3]);
                return 2;
        }
        var reply = new List<KeyValuePair<string, object>>();
        string code = exitCode.Value.ToString(CultureInfo.InvariantCulture);
        reply.Add(new KeyValuePair<string, object>("exitCode", new ExhSender.Json.Number(code)));
        reply.Add(new KeyValuePair<string, object>("outputValue", output.IsNull ? null : output.Value));
        reply.Add(new KeyValuePair<string, object>("errorMessage", error.IsNull ? null : error.Value));
        Console.Out.Write(ExhSender.Json.Write(reply) + "\n");
        return exitCode.Value == 0 ? 0 : 1;
    }

    private static SqlString Arg(string[] args, int index)
    {
        return index < args.Length ? new SqlString(args[index]) : SqlString.Null;
    }
}
