-- Shop traffic: 70% single product reads, 10% catalog pages, 20% order posts.
local shop = require("shop")

setup = shop.number_threads
delay = shop.think_time

function init(args)
  shop.seed(thread_number)
end

function request()
  local roll = math.random()
  if roll < 0.70 then
    return shop.product_get()
  elseif roll < 0.80 then
    return shop.product_page()
  end
  return shop.order_post()
end
