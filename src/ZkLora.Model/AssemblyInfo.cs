using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("ZkLora.Model.Tests")]
