Console.WriteLine("campaigns");
