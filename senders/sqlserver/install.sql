-- exh synchronous sender for SQL Server: the CLR assembly ExhSender.dll (senders/sqlserver/ExhSender.cs) and its
-- procedures. docs/senders.md explains each step. Replace [project_database] and C:\exh\ with yours; run as sysadmin.
-- Build the assembly first (signed with a strong-name key, so that SQL Server can trust it by its key):
--   sn -k exh-sender.snk
--   csc /target:library /keyfile:exh-sender.snk /reference:System.Data.dll /out:ExhSender.dll ExhSender.cs
--   (with Mono: mcs -target:library -keyfile:exh-sender.snk -r:System.Data -out:ExhSender.dll ExhSender.cs)

-- 1. CLR integration is off by default (needs ALTER SETTINGS: sysadmin or serveradmin).
EXEC sp_configure 'show advanced options', 1;
RECONFIGURE;
GO
EXEC sp_configure 'clr enabled', 1;
RECONFIGURE;
GO

-- 2. Trust the assembly by its key (the original's way; docs/senders.md): a key and a login from the signed DLL, in
--    master. The login only carries the permission; nobody logs in with it. SQL Server 2017 and later ("clr strict
--    security") treat every assembly as UNSAFE, so that login needs UNSAFE ASSEMBLY there; before 2017 EXTERNAL ACCESS
--    ASSEMBLY is enough.
USE master;
GO
CREATE ASYMMETRIC KEY ExhSenderKey FROM EXECUTABLE FILE = 'C:\exh\ExhSender.dll';
GO
CREATE LOGIN ExhSenderLogin FROM ASYMMETRIC KEY ExhSenderKey;
GO
GRANT EXTERNAL ACCESS ASSEMBLY TO ExhSenderLogin;
GRANT UNSAFE ASSEMBLY TO ExhSenderLogin;  -- SQL Server 2017 and later
GO

-- (Instead of 2., without signing: ALTER DATABASE [project_database] SET TRUSTWORTHY ON, with a database owner that
--  holds EXTERNAL ACCESS ASSEMBLY. Simpler, and weaker: every module in the database is trusted. On 2017 and later
--  with clr strict security, sys.sp_add_trusted_assembly with the DLL's SHA-512 hash is the third way.)

-- 3. The assembly (it opens TCP connections: EXTERNAL_ACCESS) and its procedures, in the application's database.
USE [project_database];
GO
CREATE ASSEMBLY ExhSender FROM 'C:\exh\ExhSender.dll' WITH PERMISSION_SET = EXTERNAL_ACCESS;
GO

-- One item change: @payload is the JSON object of the exh_to_exh_* parameters (exh_subject, ...), as
-- (SELECT @exh_subject AS exh_subject, ... FOR JSON PATH, WITHOUT_ARRAY_WRAPPER, INCLUDE_NULL_VALUES) builds it.
CREATE PROCEDURE exh_clr_send_item
  @action NVARCHAR(10),
  @item_type NVARCHAR(20),
  @user NVARCHAR(255),
  @payload NVARCHAR(MAX),
  @output_value NVARCHAR(MAX) OUTPUT,
  @error_message NVARCHAR(MAX) OUTPUT
AS EXTERNAL NAME ExhSender.ExhSender.SendItem;
GO

CREATE PROCEDURE exh_clr_sync_users
  @output_value NVARCHAR(MAX) OUTPUT,
  @error_message NVARCHAR(MAX) OUTPUT
AS EXTERNAL NAME ExhSender.ExhSender.SendSyncUsers;
GO

-- @payload: the JSON object of exh_sync_item's parameters (exh_sync_direction, exh_user, exh_item, ...).
CREATE PROCEDURE exh_clr_sync_item
  @payload NVARCHAR(MAX),
  @output_value NVARCHAR(MAX) OUTPUT,
  @error_message NVARCHAR(MAX) OUTPUT
AS EXTERNAL NAME ExhSender.ExhSender.SendSyncItem;
GO

-- The original's sendGetAttachment, with its parameters; the token is read from exh_set_up.
CREATE PROCEDURE sendGetAttachment
  @exchange_ip_address NVARCHAR(255),
  @exchange_ip_address_port INT,
  @exh_item_id NVARCHAR(512),
  @exh_attachment_id NVARCHAR(512),
  @exh_user NVARCHAR(255),
  @byte_array VARBINARY(MAX) OUTPUT,
  @error_message NVARCHAR(MAX) OUTPUT
AS EXTERNAL NAME ExhSender.ExhSender.sendGetAttachment;
GO

-- Any request of docs/protocol.md, without the token.
CREATE PROCEDURE exh_clr_send
  @request NVARCHAR(MAX),
  @output_value NVARCHAR(MAX) OUTPUT,
  @error_message NVARCHAR(MAX) OUTPUT
AS EXTERNAL NAME ExhSender.ExhSender.Send;
GO
