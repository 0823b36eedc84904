import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Reply } from '../protocol/replies.js';
import { type ClientOptions, checkedRequest, clientCommand, printReply, sendAndExit } from './send.js';

interface AttachmentFlags extends ClientOptions {
  user: string;
  itemId: string;
  attachmentId: string;
  out?: string;
}

/** `exh attachment get`: one attachment's bytes, as the senders' sendGetAttachment (docs/senders.md), to a file or
 * stdout. */
export function registerAttachment(program: Command): void {
  const attachment = program.command('attachment').description("an item's attachments in a running connector");
  clientCommand(
    attachment
      .command('get')
      .description("download one attachment's bytes by user, item id and attachment id")
      .requiredOption('--user <address>', 'the mailbox')
      .requiredOption('--item-id <id>', 'the Exchange item id')
      .requiredOption('--attachment-id <id>', 'the attachment id (from exh_split_attachment_info)')
      .option('-o, --out <file>', 'write the bytes here (default: stdout)'),
  ).action(async (flags: AttachmentFlags, command: Command) => {
    const request = await checkedRequest(command, {
      type: 'getAttachment',
      user: flags.user,
      itemId: flags.itemId,
      attachmentId: flags.attachmentId,
    });
    await sendAndExit(flags, request, async (reply: Reply) => {
      if (reply.exitCode !== 0 || reply.outputValue === null) return printReply(reply);
      const bytes = Buffer.from(reply.outputValue, 'base64');
      if (flags.out) {
        writeFileSync(flags.out, bytes);
        process.stderr.write(`Wrote ${bytes.length} bytes to ${flags.out}\n`);
      } else {
        // Written before exiting: stdout may be a pipe that takes the bytes in several writes.
        await new Promise<void>((resolve, reject) =>
          process.stdout.write(bytes, (error) => (error ? reject(error) : resolve())),
        );
      }
    });
  });
}
