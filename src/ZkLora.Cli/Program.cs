using System.CommandLine;
using ZkLora.Cli;

return ZkLoraCommand.Build().Parse(args).Invoke();
